import type { LinkName, NetworkProfileName, TimelineEntry } from "../chaos/index.ts";
import type { FleetModel, RetryPolicy, TerminalSettings } from "../fleet/plan.ts";
import type { Runtime, Settings, SwitchSource } from "../lab/lab.ts";
import type { CompareSettings, GameDay, Slo } from "../slo/index.ts";

// A profile is a TypeScript file that default-exports defineProfile({...}): the lab, the terminal fleet
// and its behaviour, the load shape, the fault timeline and (later) the SLOs. It compiles to a run plan
// (plain JSON) that the fleet engine reads.

export type { LinkName };

export interface LabOverrides {
  /** `containers` (default) or `local` (child processes, no Docker engine needed). */
  runtime?: Runtime;
  /** Issuer name → settings (harness/sim/issuer/README.md: medianMs, p99Ms, workers, responseMix, …). */
  issuers?: Record<string, Settings>;
  /** HSM settings (harness/sim/hsm/README.md: capacityPerSecond, serviceTimeMs, …). */
  hsm?: Settings;
  /** Switch settings (harness/sim/switch/README.md: issuerTimeoutMs, shedding, maxInFlight, …). */
  switch?: Settings;
  /** A user's switch instead of the reference one. */
  switchSource?: SwitchSource;
  /** Card BIN prefix → issuer name (default 62 → a, 4 → b). */
  routes?: Record<string, string>;
}

export interface Profile {
  name: string;
  description?: string;
  /** Load time, seconds. */
  durationS: number;
  lab?: LabOverrides;
  /**
   * Drive a switch that is already running (loopback only unless --allow-remote). posstorm still puts Toxiproxy
   * in front of it (the `edge` link), so every fault on `edge` works; it starts no backends, so faults on
   * backend links or programs are refused (start your switch through `lab.switchSource` for those).
   */
  target?: { host: string; port: number };
  /**
   * Your switch's Prometheus metrics (a switch posstorm did not write), scraped once a second like the lab
   * programs': `url` of its metrics page (`{{switch.adminPort}}` allowed with lab.switchSource); `chart`: metric
   * names (gauges, or counters drawn as a rate) to keep and chart in the report. Its process CPU
   * (`process_cpu_seconds_total`) tells `posstorm capacity` when it saturated: against `cores`, the cores it
   * may use (default: the machine's).
   */
  switchMetrics?: { url: string; chart?: string[]; cores?: number };
  /** Terminal behaviour; defaults in harness/fleet/plan.ts (DEFAULT_TERMINAL). */
  terminal?: Partial<Omit<TerminalSettings, "retry">> & { retry?: Partial<RetryPolicy> };
  fleet: FleetModel;
  /** A network preset on a link for the whole run (`3g` on `edge`: the terminals' access network). */
  network?: { profile: NetworkProfileName; link?: LinkName; toxicity?: number };
  /** Faults on the timeline, seconds from load start (harness/chaos/faults.ts lists the kinds and units). */
  chaos?: TimelineEntry[];
  /** Service level objectives the run is judged by (harness/report/README.md): exit 0 met, 1 breached. */
  slos?: Slo[];
  /**
   * A game day's rules: `steadyState` probes (SLOs without a phase) checked before the first fault and after
   * the last, and `abortWhen` conditions checked every second (breach: faults cleared, load stopped, exit 1).
   */
  gameDay?: GameDay;
  /** Regression thresholds for `posstorm compare` against a baseline run. */
  compare?: CompareSettings;
}

/** Identity at run time; at compile time it keeps the literal types, so a typo is an error in the profile. */
export const defineProfile = <const P extends Profile>(profile: P): P => profile;
export { slo } from "../slo/index.ts";
