import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { TEST_HOST_LINK_PREFIX } from "../fleet/index.ts";

// The project's own test hosts: network namespaces posstorm creates on this machine, each joined to it by a
// veth pair with addresses of its own — a "machine" for an agent in the tests of distributed runs. Host k is
// namespace posstorm-h<k>, its link pst<k>h (this side, 10.77.k.1/30) ↔ pst<k>a (its side, 10.77.k.2/30).
// Load goes only to the host's side of such a link (harness/fleet/agents/test-hosts.ts knows them by name).

const run = promisify(execFile);
const NETNS_PREFIX = "posstorm-h";
const SUBNET = (k: number) => `10.77.${k}`;

export interface TestHost {
  /** 1-based. */
  index: number;
  netns: string;
  /** This machine's address on the link (where the host reaches the lab and the coordinator). */
  gateway: string;
  /** The host's own address. */
  address: string;
}

async function ip(args: string[]): Promise<string> {
  try {
    return (await run("ip", args, { encoding: "utf8" })).stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT")
      throw new Error("test hosts: `ip` (iproute2) not found; run bash scripts/setup.sh");
    throw new Error(`test hosts: ip ${args.join(" ")}: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** Creates `count` test hosts (removing any left by an earlier run first). Needs root. */
export async function createTestHosts(count: number): Promise<TestHost[]> {
  if (!Number.isInteger(count) || count < 1 || count > 200)
    throw new Error(`test hosts: count ${count} is not 1-200`);
  await removeTestHosts();
  const routes = await ip(["-4", "route", "show"]);
  const hosts: TestHost[] = [];
  try {
    for (let k = 1; k <= count; k++) {
      const netns = `${NETNS_PREFIX}${k}`;
      const here = `${TEST_HOST_LINK_PREFIX}${k}h`;
      const there = `${TEST_HOST_LINK_PREFIX}${k}a`;
      if (routes.includes(`${SUBNET(k)}.`)) {
        throw new Error(`test hosts: ${SUBNET(k)}.0/30 is routed on this machine already; not touching it`);
      }
      await ip(["netns", "add", netns]);
      await ip(["link", "add", here, "type", "veth", "peer", "name", there, "netns", netns]);
      await ip(["addr", "add", `${SUBNET(k)}.1/30`, "dev", here]);
      await ip(["link", "set", here, "up"]);
      await ip(["-n", netns, "addr", "add", `${SUBNET(k)}.2/30`, "dev", there]);
      await ip(["-n", netns, "link", "set", there, "up"]);
      await ip(["-n", netns, "link", "set", "lo", "up"]);
      hosts.push({
        index: k,
        netns,
        gateway: `${SUBNET(k)}.1`,
        address: `${SUBNET(k)}.2`,
      });
    }
  } catch (error) {
    await removeTestHosts();
    throw error;
  }
  return hosts;
}

/** Removes every test host (their veth links go with their namespaces). */
export async function removeTestHosts(): Promise<string[]> {
  const listed = await ip(["netns", "list"]);
  const ours = listed
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name.startsWith(NETNS_PREFIX));
  // This side of each link first: deleting one end of a veth deletes both, now (a namespace's links go later).
  const links = (await ip(["-o", "link", "show"]))
    .split("\n")
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? "")
    .filter((name) => new RegExp(`^${TEST_HOST_LINK_PREFIX}\\d+h$`).test(name));
  for (const link of links) await ip(["link", "delete", link]);
  for (const netns of ours) await ip(["netns", "delete", netns]);
  return ours;
}
