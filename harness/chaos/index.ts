// harness/chaos: the fault catalog, its application (Toxiproxy, nftables, admin APIs), the timeline
// runner and its phases, network presets and the incident library.

export { type ConfigApi, httpConfigApi } from "./admin-config.ts";
export { type AppliedFault, applyFault, type ChaosContext } from "./apply.ts";
export {
  describeFault,
  FAULT_KINDS,
  type Fault,
  type FaultDirection,
  type FaultKind,
  type FaultOf,
  faultTarget,
  type IssuerRole,
  type KillMethod,
  type LinkName,
  SWITCH_RUNTIME_SETTINGS,
  type SwitchRuntimeSettings,
  type ToxicFault,
  validateFault,
} from "./faults.ts";
export {
  INCIDENTS,
  type Incident,
  type IncidentId,
  type IncidentOptions,
  isIncidentId,
} from "./incidents.ts";
export { clearKernelFaults, type KernelControl, nftKernel } from "./kernel.ts";
export { type ProbeResult, probeNftables, probeSs } from "./kernel-probes.ts";
export {
  clearFaultLeftovers,
  describeFaultLeftovers,
  type FaultLeftovers,
  findFaultLeftovers,
} from "./leftovers.ts";
export {
  isNetworkProfileName,
  NETWORK_PROFILES,
  type NetworkProfile,
  type NetworkProfileName,
  networkProfile,
} from "./presets.ts";
export {
  type Clock,
  type EntryRecord,
  entryNames,
  type Instant,
  type Phase,
  phasesOf,
  type StartedTimeline,
  startTimeline,
  type TimelineEntry,
  type TimelineOptions,
  type TimelineResult,
  validateTimeline,
} from "./timeline.ts";
export { ChaosError, connectToxiproxy, type ToxiproxyControl } from "./toxiproxy.ts";
