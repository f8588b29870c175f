import { networkInterfaces } from "node:os";
import { isLoopback } from "../plan-check.ts";

// Where an agent may send load: loopback, or one of the project's own test hosts — the far end of a veth link
// posstorm made itself (harness/lab/test-hosts.ts names them TEST_HOST_LINK_PREFIX…) — or anywhere when remote
// targets were allowed on purpose.

/** Interfaces of the project's test-host links start with this (≤ 15 characters in all, a Linux limit). */
export const TEST_HOST_LINK_PREFIX = "pst";

/** Why `host` may be loaded from this machine (`loopback`, `test host on <interface>`, `allowed`), or null. */
export function targetAllowance(host: string, allowRemote: boolean): string | null {
  if (isLoopback(host)) return "loopback";
  const link = testHostLinkOf(host);
  if (link !== undefined) return `test host on ${link}`;
  return allowRemote ? "allowed (--allow-remote)" : null;
}

/** The project's test-host interface whose IPv4 subnet holds `host`, if any. */
export function testHostLinkOf(host: string): string | undefined {
  const ip = ipv4(host);
  if (ip === undefined) return undefined;
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    if (!name.startsWith(TEST_HOST_LINK_PREFIX)) continue;
    for (const a of addresses ?? []) {
      if (a.family !== "IPv4") continue;
      const own = ipv4(a.address)!;
      const mask = ipv4(a.netmask)!;
      if ((own & mask) >>> 0 === (ip & mask) >>> 0) return name;
    }
  }
  return undefined;
}

function ipv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) return undefined;
    n = n * 256 + v;
  }
  return n >>> 0;
}
