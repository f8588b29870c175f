// Every program outside Node that posstorm's code runs (spawn / execFile), where it comes from and which
// `posstorm doctor` check answers for it. harness/shared/programs.test.ts reads the sources and fails when
// a program is run that is not listed here, or a listed one is not installed by setup or not checked by
// doctor: a new dependency cannot reach a new machine unnoticed.

export interface ExternalProgram {
  /** The executable's name, as the code looks it up. */
  program: string;
  /**
   * How setup provides it: a Debian package pinned in SYSTEM_DEBS (scripts/versions.env, installed by
   * scripts/system.sh), or the script that builds or installs it.
   */
  provided: /** `essential`: a Debian Essential package, on every Debian system, neither pinned nor checked. */
    | { debian: string; essential?: true }
    | {
        script:
          | "scripts/engine.sh"
          | "scripts/browser.sh"
          | "scripts/build-toxiproxy.sh"
          | "scripts/build-mini-switch.sh"
          | "scripts/build-k8s-check.sh"
          | "scripts/setup-node.sh";
      };
  /** The `posstorm doctor` check (its `name`) that finds it and tells the fix; none for essential packages. */
  doctor?: string;
  /** What posstorm runs it for. */
  usedFor: string;
}

export const EXTERNAL_PROGRAMS: readonly ExternalProgram[] = [
  {
    program: "nft",
    provided: { debian: "nftables" },
    doctor: "nftables (packet loss)",
    usedFor: "kernel packet loss and SYN drops (harness/chaos/kernel.ts)",
  },
  {
    program: "ss",
    provided: { debian: "iproute2" },
    doctor: "ss (connection kill)",
    usedFor: "connection kills, `ss -K` (harness/chaos/kernel.ts)",
  },
  {
    program: "ip",
    provided: { debian: "iproute2" },
    usedFor:
      "the project's test hosts, network namespaces with veth links for agents in the tests of distributed runs (harness/lab/test-hosts.ts; no doctor check: users need it not)",
  },
  {
    program: "chrt",
    provided: { debian: "util-linux", essential: true },
    usedFor:
      "the fleet's worker threads asking for real-time scheduling, SCHED_FIFO (harness/fleet/thread-priority.ts; without it they keep a nice value)",
  },
  {
    program: "docker",
    provided: { script: "scripts/engine.sh" },
    doctor: "docker engine",
    usedFor: "building the lab image (scripts/build-lab-image.ts)",
  },
  {
    program: "toxiproxy-server",
    provided: { script: "scripts/build-toxiproxy.sh" },
    doctor: "toxiproxy",
    usedFor: "the lab's proxies in the `local` runtime (harness/lab/lab.ts)",
  },
  {
    program: "mini-switch",
    provided: { script: "scripts/build-mini-switch.sh" },
    usedFor:
      "the tests of a switch posstorm did not write (switches/mini-switch; no doctor check: users need it not)",
  },
  {
    program: "k8s-check",
    provided: { script: "scripts/build-k8s-check.sh" },
    usedFor:
      "the tests of `posstorm export k8s`: its manifests decoded strictly into the Kubernetes API's types (scripts/k8s-check; no doctor check: users need it not)",
  },
  {
    program: "chromium",
    provided: { script: "scripts/browser.sh" },
    doctor: "chromium",
    usedFor: "the report's browser check and screenshot (harness/report/browser.ts)",
  },
  {
    program: "node",
    provided: { script: "scripts/setup-node.sh" },
    doctor: "node",
    usedFor: "lab programs in the `local` runtime, test and benchmark children (process.execPath)",
  },
];

/** The Debian packages of SYSTEM_DEBS (`name=version …`) by name. */
export function parseSystemDebs(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pin of (value ?? "").split(/\s+/).filter(Boolean)) {
    const at = pin.indexOf("=");
    if (at > 0) out.set(pin.slice(0, at), pin.slice(at + 1));
  }
  return out;
}
