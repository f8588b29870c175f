import type { Fault, IssuerRole, LinkName } from "./faults.ts";
import type { TimelineEntry } from "./timeline.ts";

// The incident library: the failures operators meet, each as timeline entries from a start time and a
// duration (seconds from load start). Numbers are defaults chosen to be clearly visible against the
// reference lab's settings (switch issuer timeout 30 s, HSM unlimited, issuer median 80 ms); each
// incident takes options to change the link or issuer.

export type IncidentId =
  | "unstable-network"
  | "congested-network"
  | "packet-loss"
  | "firewall-drop"
  | "issuer-brownout"
  | "hsm-saturation"
  | "switch-restart"
  | "link-flap"
  | "maintenance-window"
  | "connection-flood"
  | "transmission-errors"
  | "terminal-power-loss"
  | "interface-change";

export interface IncidentOptions {
  /** Network incidents: the link; default `edge`. */
  link?: LinkName;
  /** Issuer incidents and the maintenance window: default `issuer-a`. */
  issuer?: IssuerRole;
}

export interface Incident {
  id: IncidentId;
  title: string;
  description: string;
  /** Needs root (kernel faults). */
  needsRoot: boolean;
  /** Timeline entries. */
  entries(startS: number, durationS: number, opts?: IncidentOptions): TimelineEntry[];
}

function together(id: string, startS: number, durationS: number, faults: [string, Fault][]): TimelineEntry[] {
  return faults.map(([part, fault]) => ({ name: `${id}:${part}`, at: startS, for: durationS, fault }));
}

/** Flap timing: `downS` down, `upS` up, repeated while the whole flap fits in the window. */
export const LINK_FLAP = { downS: 5, upS: 10 };

export const INCIDENTS: Record<IncidentId, Incident> = {
  "unstable-network": {
    id: "unstable-network",
    title: "Unstable network",
    description:
      "a flaky mobile or Wi-Fi uplink: 100 ms ±80 ms each way (RTT 200 ms, spiky) and 2% packet loss " +
      "both ways on the link. Retransmissions stretch the tail; short connections pay it at connect.",
    needsRoot: true,
    entries: (startS, durationS, opts = {}) => {
      const link = opts.link ?? "edge";
      return together("unstable-network", startS, durationS, [
        ["latency", { kind: "latency", link, latencyMs: 100, jitterMs: 80, direction: "both" }],
        ["loss", { kind: "packet-loss", link, lossPercent: 2, direction: "both" }],
      ]);
    },
  },
  "congested-network": {
    id: "congested-network",
    title: "Congested network",
    description:
      "a saturated uplink (bufferbloat): 8 KB/s each way, 300 ms ±100 ms queueing delay each way and 1% " +
      "tail drops. Messages queue behind each other; response timers run out.",
    needsRoot: true,
    entries: (startS, durationS, opts = {}) => {
      const link = opts.link ?? "edge";
      return together("congested-network", startS, durationS, [
        ["bandwidth", { kind: "bandwidth", link, rateKBps: 8, direction: "both" }],
        ["latency", { kind: "latency", link, latencyMs: 300, jitterMs: 100, direction: "both" }],
        ["loss", { kind: "packet-loss", link, lossPercent: 1, direction: "both" }],
      ]);
    },
  },
  "packet-loss": {
    id: "packet-loss",
    title: "Packet loss",
    description:
      "10% of packets dropped both ways by the kernel: TCP retransmits (200 ms minimum RTO, doubling), " +
      "so some exchanges take seconds and some connects fail.",
    needsRoot: true,
    entries: (startS, durationS, opts = {}) =>
      together("packet-loss", startS, durationS, [
        ["loss", { kind: "packet-loss", link: opts.link ?? "edge", lossPercent: 10, direction: "both" }],
      ]),
  },
  "firewall-drop": {
    id: "firewall-drop",
    title: "Firewall dropping connections",
    description:
      "a firewall loses its state or a bad rule lands: every new connection's SYN is dropped (connect " +
      "timeouts) and established connections are blackholed (response and idle timeouts).",
    needsRoot: true,
    entries: (startS, durationS, opts = {}) => {
      const link = opts.link ?? "edge";
      return together("firewall-drop", startS, durationS, [
        ["syn", { kind: "syn-drop", link, lossPercent: 100 }],
        ["blackhole", { kind: "timeout", link, timeoutMs: 0, direction: "both" }],
      ]);
    },
  },
  "issuer-brownout": {
    id: "issuer-brownout",
    title: "Issuer brown-out",
    description:
      "the issuer is degraded, not down: service time median 3 s, p99 40 s (beyond the switch's 30 s issuer " +
      "timeout, so 98s and reversals) and 10% errors (5% 91 issuer unavailable, 5% 96 system malfunction).",
    needsRoot: false,
    entries: (startS, durationS, opts = {}) => {
      const issuer = opts.issuer ?? "issuer-a";
      return together("issuer-brownout", startS, durationS, [
        ["slow", { kind: "issuer-slow", issuer, medianMs: 3000, p99Ms: 40_000 }],
        ["errors", { kind: "issuer-errors", issuer, responseMix: { "00": 90, "91": 5, "96": 5 } }],
      ]);
    },
  },
  "hsm-saturation": {
    id: "hsm-saturation",
    title: "HSM saturation",
    description:
      "the HSM starts 20 calls/s at most: below an opening-time sign-in storm (10,000 terminals in 5 " +
      "minutes ≈ 33 sign-ins/s), so sign-ins queue until the switch's HSM timeout answers A7.",
    needsRoot: false,
    entries: (startS, durationS) =>
      together("hsm-saturation", startS, durationS, [
        ["capacity", { kind: "hsm-capacity", capacityPerSecond: 20 }],
      ]),
  },
  "switch-restart": {
    id: "switch-restart",
    title: "Switch restart",
    description:
      "the switch process restarts (deploy, crash): down 5 s, then starts with no sessions; terminals " +
      "see refused connects, then 99 and sign in again. The window watches the recovery.",
    needsRoot: false,
    entries: (startS, durationS) =>
      together("switch-restart", startS, durationS, [["restart", { kind: "switch-restart", downMs: 5000 }]]),
  },
  "link-flap": {
    id: "link-flap",
    title: "Link flap",
    description: `the link goes down ${LINK_FLAP.downS} s and up ${LINK_FLAP.upS} s, repeatedly: open connections are cut, connects refused while down.`,
    needsRoot: false,
    entries: (startS, durationS, opts = {}) => {
      const link = opts.link ?? "edge";
      const period = LINK_FLAP.downS + LINK_FLAP.upS;
      const flaps = Math.max(1, Math.floor((durationS + LINK_FLAP.upS) / period));
      return Array.from({ length: flaps }, (_, i) => ({
        name: `link-flap#${i + 1}`,
        at: startS + i * period,
        for: Math.min(LINK_FLAP.downS, durationS),
        fault: { kind: "down", link } satisfies Fault,
      }));
    },
  },
  "maintenance-window": {
    id: "maintenance-window",
    title: "Maintenance window",
    description:
      "the issuer host is taken offline for planned maintenance: its link is down for the whole window; " +
      "the switch answers 91 and stores reversals until it returns.",
    needsRoot: false,
    entries: (startS, durationS, opts = {}) =>
      together("maintenance-window", startS, durationS, [
        ["down", { kind: "down", link: opts.issuer ?? "issuer-a" }],
      ]),
  },
  "connection-flood": {
    id: "connection-flood",
    title: "Connection flood",
    description:
      "1000 new connections/s to the link that send nothing and stay open up to 60 s (a reconnect storm or a " +
      "scanner), opened by posstorm itself; tests the listener's accept queue, the idle timeout and fd limits.",
    needsRoot: false,
    entries: (startS, durationS, opts = {}) =>
      together("connection-flood", startS, durationS, [
        [
          "connection-flood",
          { kind: "connection-flood", link: opts.link ?? "edge", connectionsPerSecond: 1000, holdOpenS: 60 },
        ],
      ]),
  },
  "transmission-errors": {
    id: "transmission-errors",
    title: "Data transmission errors",
    description:
      "a noisy line or a faulty middlebox: 5% of frames each way are damaged in transit (a flipped byte, a " +
      "frame cut short, a wrong length prefix). Terminals see replies that do not decode or verify " +
      "(protocol, mac); the switch counts malformed frames and keeps serving.",
    needsRoot: false,
    entries: (startS, durationS, opts = {}) =>
      together("transmission-errors", startS, durationS, [
        ["corrupt", { kind: "corrupt", link: opts.link ?? "edge", probability: 0.05, direction: "both" }],
      ]),
  },
  "terminal-power-loss": {
    id: "terminal-power-loss",
    title: "Terminal power loss mid-transaction",
    description:
      "a power cut at the shops: 20% of the purchases started in the window are cut right after the 0200 is " +
      "sent; each such terminal is off 5 s, then comes back owing the reversal. A correct switch settles every " +
      "one: the report shows no one-sided transaction.",
    needsRoot: false,
    entries: (startS, durationS) =>
      together("terminal-power-loss", startS, durationS, [
        ["power-loss", { kind: "power-loss", fraction: 0.2, offMs: 5000 }],
      ]),
  },
  "interface-change": {
    id: "interface-change",
    title: "Software incompatibility after an interface change",
    description:
      "the switch is deployed with an interface change that needs terminal software 000001 or later: " +
      "terminals still on older software (the header's version; terminal.software sets the fleet's mix, " +
      "default all on 000000) are refused with 40 whatever they send; upgraded ones go on. The report " +
      "counts 40 apart from other declines.",
    needsRoot: false,
    entries: (startS, durationS) =>
      together("interface-change", startS, durationS, [
        ["switch", { kind: "switch-config", settings: { minSoftwareVersion: "000001" } }],
      ]),
  },
};

export function isIncidentId(id: string): id is IncidentId {
  return Object.hasOwn(INCIDENTS, id);
}
