/** Proxmox VE API client: token auth, TLS by CA or pinned fingerprint, task waiting, typed helpers. */
export {
  createPveClient,
  encodeParams,
  type HttpMethod,
  type PciDevice,
  type PveClient,
  type PveClientOptions,
  type PveEnvelope,
  type PveNode,
  type PveParams,
  type PveParamValue,
  type PveToken,
  parsePermissionMessage,
  type TaskStatus,
  type VmConfig,
  type WaitForTaskOptions,
} from "./client.ts";
export {
  PveApiError,
  PveAuthError,
  PveConcurrentEditError,
  PveConnectionError,
  type PveErrorDetails,
  PvePermissionError,
  PveTaskError,
  PveTlsPinError,
} from "./errors.ts";
export {
  assertMappingId,
  formatMapEntry,
  normalizeMappings,
  type PciMapEntry,
  type PciMappingSpec,
  type PveMapping,
  parseMapEntry,
} from "./mappings.ts";
export { detectEra, type MdevListingEra, normalizeMdevTypes, type PveMdevType } from "./mdev.ts";
export { createPveAgent, normalizeFingerprint, type PveTls } from "./tls.ts";
export { isUpid, parseUpid, type Upid } from "./upid.ts";
