/**
 * Errors the user can act on. The CLI's single error boundary prints `message` (and `hint`)
 * on one line without a stack trace and exits 2 ("the tool could not run").
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** A command or file that a read-only bundle did not capture: the fact is unknown, not absent. */
export class NotCapturedError extends Error {
  constructor(readonly what: string) {
    super(`not captured: ${what}`);
    this.name = "NotCapturedError";
  }
}

/** Thrown by a host when a write is attempted on a read-only host (bundle replay). */
export class ReadOnlyHostError extends UserError {
  constructor(spec: string) {
    super(`${spec} is a read-only host (a captured bundle); nothing can be changed on it`);
  }
}
