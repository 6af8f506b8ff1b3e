/** Placement: which GPU and slot a vGPU goes to, what is refused and why, and which type to suggest. Pure. */
export {
  type AttachPlan,
  type AttachRequest,
  type DetachPlan,
  findVm,
  gpuRefusal,
  MAX_HOSTPCI,
  PlacementRefusal,
  planAttach,
  planDetach,
  type RefusalCode,
  type ResolvedType,
  resolveType,
} from "./attach.ts";
export { checkResolution, parseMaxResolution, parseResolution, type Resolution } from "./display.ts";
export {
  addressOnGpu,
  buildPlacementModel,
  effectiveVramMiB,
  type GpuUser,
  isQ35,
  mergeHostpci,
  type PlaceGpu,
  type PlaceHostpci,
  type PlaceMdev,
  type PlacementModel,
  type PlaceType,
  type PlaceVm,
  typeMiB,
  usersOf,
} from "./model.ts";
export {
  GUEST_OSES,
  type GuestOs,
  preferredSeries,
  type SuggestInput,
  type Suggestion,
  type SuggestType,
  seriesForOs,
  suggestProfile,
  WORKLOADS,
  type Workload,
} from "./suggest.ts";
