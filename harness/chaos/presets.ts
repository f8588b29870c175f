import type { Fault, LinkName } from "./faults.ts";

// Network profiles: the access networks POS terminals sit on, as faults on one link (normally `edge`).
//
// Latency is applied in both directions, half the round trip each (the RTT a terminal measures is
// 2 × latencyMs); jitter is the ± spread per direction. Bandwidth is per direction in KB/s (1 KB = 1000
// bytes, Toxiproxy's unit, rounded down to whole KB/s). Packet loss is a kernel drop (root needed) in
// both directions; `{ packetLoss: false }` leaves it out.
//
// Sources: WebPageTest's connectivity profiles (www/settings/connectivity.ini.sample in the
// WebPageTest repository) give bandwidth and RTT for LTE, 3G and 2G; they model no loss (plr=0), so
// the loss and jitter figures are posstorm's estimates, noted per profile.

export type NetworkProfileName = "lan" | "4g" | "3g" | "gprs" | "satellite";

export interface NetworkProfile {
  name: NetworkProfileName;
  summary: string;
  /** Round trip added, in ms (latency per direction = rttMs / 2). */
  rttMs: number;
  /** ± spread per direction, in ms. */
  jitterMs: number;
  /** server → client (downlink), KB/s; undefined = not limited. */
  downKBps?: number;
  /** client → server (uplink), KB/s. */
  upKBps?: number;
  lossPercent: number;
  /** Where the numbers come from. */
  source: string;
}

export const NETWORK_PROFILES: Record<NetworkProfileName, NetworkProfile> = {
  lan: {
    name: "lan",
    summary: "wired store LAN behind a router: 2 ms RTT, no limit, no loss",
    rttMs: 2,
    jitterMs: 0,
    lossPercent: 0,
    source:
      "reasoning: switched Ethernet is well under 1 ms; one router/firewall hop to the acquirer's site " +
      "makes ~1–2 ms. Toxiproxy latency is whole ms, so 1 ms each way. A baseline that is not zero.",
  },
  "4g": {
    name: "4g",
    summary: "LTE: 70 ms RTT ±10 ms, 12/12 Mbit/s, 0.1% loss",
    rttMs: 70,
    jitterMs: 10,
    downKBps: 1500,
    upKBps: 1500,
    lossPercent: 0.1,
    source:
      'WebPageTest "LTE": 12 Mbps down, 12 Mbps up, 70 ms RTT. Jitter and loss: posstorm estimates ' +
      "(LTE's link-layer retransmission hides most radio loss; 0.1% stands for residual and congestion drops).",
  },
  "3g": {
    name: "3g",
    summary: "3G: 300 ms RTT ±25 ms, 1.6 Mbit/s down, 768 kbit/s up, 0.5% loss",
    rttMs: 300,
    jitterMs: 25,
    downKBps: 200,
    upKBps: 96,
    lossPercent: 0.5,
    source:
      'WebPageTest "3G": 1.6 Mbps down, 768 Kbps up, 300 ms RTT. Jitter and loss: posstorm estimates ' +
      "for a loaded cell.",
  },
  gprs: {
    name: "gprs",
    summary: "GPRS/2G: 1300 ms RTT ±100 ms, 35/32 kbit/s, 1% loss (many POS terminals still use it)",
    rttMs: 1300,
    jitterMs: 100,
    downKBps: 4,
    upKBps: 4,
    lossPercent: 1,
    source:
      'WebPageTest "2G": 35 Kbps down, 32 Kbps up, 1300 ms RTT (4.4 and 4.0 KB/s, rounded to 4 KB/s). ' +
      "Jitter and loss: posstorm estimates; GPRS round trips of 0.6–1.5 s are common.",
  },
  satellite: {
    name: "satellite",
    summary: "geostationary VSAT: 600 ms RTT ±20 ms, 1 Mbit/s down, 256 kbit/s up, 0.5% loss",
    rttMs: 600,
    jitterMs: 20,
    downKBps: 125,
    upKBps: 32,
    lossPercent: 0.5,
    source:
      "physics: a geostationary satellite is 35,786 km up; a round trip crosses it 4 times: " +
      "4 × 35,786 km / 299,792 km/s = 477 ms, plus modem and ground-station processing ≈ 600 ms. " +
      "Bandwidth: a small VSAT plan (1 Mbit/s / 256 kbit/s); loss: posstorm estimate (rain fade).",
  },
};

export interface NetworkProfileOptions {
  /** Fraction of connections (terminals) on this network, for the toxics; default 1. */
  toxicity?: number;
  /** Include the kernel packet loss (needs root); default true. */
  packetLoss?: boolean;
}

/** The faults of a network profile on `link`. */
export function networkProfile(
  name: NetworkProfileName,
  link: LinkName,
  opts: NetworkProfileOptions = {},
): Fault[] {
  const p = NETWORK_PROFILES[name];
  if (!p) {
    throw new Error(
      `no network profile ${JSON.stringify(name)} (${Object.keys(NETWORK_PROFILES).join(", ")})`,
    );
  }
  const share = opts.toxicity === undefined ? {} : { toxicity: opts.toxicity };
  const faults: Fault[] = [];
  if (p.rttMs > 0) {
    faults.push({
      kind: "latency",
      link,
      latencyMs: Math.round(p.rttMs / 2),
      ...(p.jitterMs ? { jitterMs: p.jitterMs } : {}),
      direction: "both",
      ...share,
    });
  }
  if (p.downKBps)
    faults.push({ kind: "bandwidth", link, rateKBps: p.downKBps, direction: "downstream", ...share });
  if (p.upKBps) faults.push({ kind: "bandwidth", link, rateKBps: p.upKBps, direction: "upstream", ...share });
  if (p.lossPercent > 0 && opts.packetLoss !== false) {
    faults.push({ kind: "packet-loss", link, lossPercent: p.lossPercent, direction: "both" });
  }
  return faults;
}

export function isNetworkProfileName(name: string): name is NetworkProfileName {
  return Object.hasOwn(NETWORK_PROFILES, name);
}
