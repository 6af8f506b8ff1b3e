/**
 * Errors of the Proxmox VE API client. All are UserErrors: the CLI prints message + hint and exits 2.
 * Messages never contain the token secret.
 */
import { UserError } from "../util/errors.ts";

export interface PveErrorDetails {
  status: number;
  method: string;
  /** API path, e.g. "/nodes/pve1/qemu/100/config" */
  path: string;
  /** message from the response body ("message") or the HTTP reason phrase */
  pveMessage: string | null;
  /** per-parameter errors of a 400 "Parameter verification failed." */
  errors: Record<string, string> | null;
}

export class PveApiError extends UserError {
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly pveMessage: string | null;
  readonly errors: Record<string, string> | null;

  constructor(message: string, details: PveErrorDetails, hint?: string) {
    super(message, hint);
    this.name = "PveApiError";
    this.status = details.status;
    this.method = details.method;
    this.path = details.path;
    this.pveMessage = details.pveMessage;
    this.errors = details.errors;
  }
}

/** 401: the token is unknown, expired, disabled or its secret is wrong. */
export class PveAuthError extends PveApiError {
  constructor(message: string, details: PveErrorDetails, hint?: string) {
    super(message, details, hint);
    this.name = "PveAuthError";
  }
}

/** 403 "Permission check failed (/vms/100, VM.Config.HW)". */
export class PvePermissionError extends PveApiError {
  /** ACL path, e.g. "/vms/100" (null when PVE did not say) */
  readonly aclPath: string | null;
  /** privileges PVE checked; any one of them would do when several are listed */
  readonly privileges: string[];

  constructor(
    message: string,
    details: PveErrorDetails,
    aclPath: string | null,
    privileges: string[],
    hint?: string,
  ) {
    super(message, details, hint);
    this.name = "PvePermissionError";
    this.aclPath = aclPath;
    this.privileges = privileges;
  }
}

/** A config changed between read (digest) and write: "detected modified configuration - file changed by other user?" */
export class PveConcurrentEditError extends PveApiError {
  constructor(message: string, details: PveErrorDetails, hint?: string) {
    super(message, details, hint);
    this.name = "PveConcurrentEditError";
  }
}

/** A worker task ended with an exit status other than OK / WARNINGS. */
export class PveTaskError extends UserError {
  constructor(
    message: string,
    readonly upid: string,
    readonly exitstatus: string | null,
    readonly logTail: string[],
    hint?: string,
  ) {
    super(message, hint);
    this.name = "PveTaskError";
  }
}

/** The server's certificate does not match the pinned SHA-256 fingerprint; no request was sent. */
export class PveTlsPinError extends UserError {
  constructor(
    readonly expected: string,
    readonly actual: string | null,
    host: string,
  ) {
    super(
      `TLS certificate of ${host} does not match the pinned fingerprint (expected ${expected}, got ${actual ?? "no certificate"}); nothing was sent`,
      "check the fingerprint with `pvenode cert info` on the node; if the certificate was renewed, pin the new one",
    );
    this.name = "PveTlsPinError";
  }
}

/** Connection-level failure (refused, TLS verification, timeout). */
export class PveConnectionError extends UserError {
  constructor(
    message: string,
    hint: string | undefined,
    readonly code: string | null,
  ) {
    super(message, hint);
    this.name = "PveConnectionError";
  }
}
