import { maxSegments } from "../fleet/arrivals.ts";
import { AGENT_PORT, parseHostPort } from "../fleet/index.ts";
import type { RunPlan } from "../fleet/plan.ts";
import { isLoopback, resolvePlan } from "../fleet/plan-check.ts";
import { type CompiledRun, fleetPlanOf, runPlanOf } from "../profile/compile.ts";

// `posstorm export k8s`: a profile's fleet as Kubernetes objects, one agent pod per segment. Pure: a compiled
// profile and options in, manifest files (name and text) out; export-k8s.ts reads the profile and writes them.
//
//   ConfigMap <name>-plan   plan.json: the run plan every agent checks its coordinator's plan against
//   Service   <name>        headless, so each pod has a DNS name: <name>-<index>.<name>
//   Job       <name>        Indexed, one pod per segment, none ever rerun: a segment that fails stays failed
//                           and the coordinator's run says so, instead of a replacement joining mid-run
//
// Each file holds one object as JSON, which is YAML too (kubectl and every YAML reader take it).

/** Where the plan is mounted in the agent's container. */
export const PLAN_DIR = "/etc/posstorm";
export const PLAN_KEY = "plan.json";
/** Indexed pods carry their index in this annotation (the Job controller sets it). */
const INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index";
/** An Indexed Job runs at most this many pods at once (its parallelism). */
const MAX_INDEXED_PARALLELISM = 100_000;
const DNS_LABEL_MAX = 63;
export const DEFAULT_IMAGE_REPOSITORY = "posstorm/posstorm";
export const DEFAULT_CPU = "1";
export const DEFAULT_MEMORY = "512Mi";

export interface K8sExportOptions {
  /** Agent pods, each running one fleet segment: the Job's completions and parallelism. */
  segments: number;
  /** `host:port` where the agents reach the switch; default the profile's own `target`. */
  target?: string;
  /** Let the agents load a switch outside loopback (the plan's `target.allowRemote`, the agents' flag). */
  allowRemote?: boolean;
  /** Names the Job and the Service (the ConfigMap is `<name>-plan`); default `posstorm-<profile name>`. */
  name?: string;
  /** Written into every object's metadata; none by default (kubectl's current namespace). */
  namespace?: string;
  /** The agents' image; default `posstorm/posstorm:<version>`. */
  image?: string;
  /** posstorm's version (package.json), for the default image tag. */
  version: string;
  /** Each agent's CPU request, a Kubernetes quantity (default "1": one segment is one busy thread). */
  cpu?: string;
  /** Each agent's memory request (default "512Mi"). */
  memory?: string;
  /** The profile as the user named it, for the coordinator's command line (default the profile's name). */
  profileArg?: string;
}

export interface ManifestFile {
  /** File name in the output folder: configmap.yaml, service.yaml, job.yaml. */
  name: string;
  text: string;
}

export interface K8sExport {
  /** The Job's and the Service's name. */
  name: string;
  namespace?: string;
  image: string;
  files: ManifestFile[];
  /** The plan in the ConfigMap. */
  plan: RunPlan;
  /** `host:port` of each agent as the coordinator dials it, index order. */
  agents: string[];
  /** The coordinator's command line. */
  coordinator: string;
  /** Things that are allowed but probably not meant. */
  warnings: string[];
}

/** The manifests of a compiled profile's fleet on `segments` agent pods. Throws an Error naming the option. */
export function k8sManifests(compiled: CompiledRun, options: K8sExportOptions): K8sExport {
  const segments = checkSegments(options.segments, compiled);
  const name = options.name ?? defaultName(compiled.profile.name, segments);
  checkName(name, segments);
  if (options.namespace !== undefined) checkNamespace(options.namespace);
  const cpu = quantity(options.cpu ?? DEFAULT_CPU, "--cpu");
  const memory = quantity(options.memory ?? DEFAULT_MEMORY, "--memory");
  const image = options.image ?? `${DEFAULT_IMAGE_REPOSITORY}:${options.version}`;
  if (!/^[^\s]+$/.test(image)) throw new Error(`--image: ${JSON.stringify(image)} is not an image reference`);
  const allowRemote = options.allowRemote ?? false;
  const plan = planOf(compiled, name, targetOf(compiled, options.target), allowRemote);

  const labels = { "app.kubernetes.io/name": "posstorm-agent", "app.kubernetes.io/instance": name };
  const metadata = (objectName: string) => ({
    name: objectName,
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    labels,
  });
  const configMapName = `${name}-plan`;
  const target = `${formatHost(plan.target.host)}:${plan.target.port}`;

  const configMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: metadata(configMapName),
    data: { [PLAN_KEY]: `${JSON.stringify(plan, null, 2)}\n` },
  };
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(name),
    spec: {
      clusterIP: "None",
      selector: labels,
      ports: [{ name: "agent", port: AGENT_PORT, targetPort: "agent", protocol: "TCP" }],
    },
  };
  const job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: metadata(name),
    spec: {
      completionMode: "Indexed",
      completions: segments,
      parallelism: segments,
      // A failed index stays failed (no retry) and the others run on: the coordinator, not Kubernetes, ends
      // the run when a segment is lost, and the others' samples reach it first (maxFailedIndexes may be at
      // most completions; at that value no count of failures ends the Job early).
      backoffLimitPerIndex: 0,
      maxFailedIndexes: segments,
      // Never a new pod while an old one is still terminating.
      podReplacementPolicy: "Failed",
      template: {
        metadata: { labels },
        spec: {
          // Indexed pods are named <job>-<index>; with the Service as subdomain each has a DNS name.
          subdomain: name,
          restartPolicy: "Never",
          containers: [
            {
              name: "agent",
              image,
              command: ["posstorm", "agent"],
              args: agentArgs(target, allowRemote),
              env: [
                {
                  name: "JOB_COMPLETION_INDEX",
                  valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${INDEX_ANNOTATION}']` } },
                },
              ],
              ports: [{ name: "agent", containerPort: AGENT_PORT, protocol: "TCP" }],
              readinessProbe: { tcpSocket: { port: "agent" }, periodSeconds: 2 },
              resources: { requests: { cpu, memory } },
              volumeMounts: [{ name: "plan", mountPath: PLAN_DIR, readOnly: true }],
            },
          ],
          volumes: [{ name: "plan", configMap: { name: configMapName } }],
        },
      },
    },
  };

  const domain = options.namespace !== undefined ? `${name}.${options.namespace}` : name;
  const agents = Array.from({ length: segments }, (_, i) => `${name}-${i}.${domain}:${AGENT_PORT}`);
  const coordinator = [
    "posstorm",
    "run",
    shellWord(options.profileArg ?? compiled.profile.name),
    "--agents",
    agents.join(","),
    ...(allowRemote ? ["--allow-remote"] : []),
  ].join(" ");
  return {
    name,
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    image,
    files: [
      { name: "configmap.yaml", text: document(configMap) },
      { name: "service.yaml", text: document(service) },
      { name: "job.yaml", text: document(job) },
    ],
    plan,
    agents,
    coordinator,
    warnings: warningsOf(plan),
  };
}

/** The agent's command line after `posstorm agent`: one segment, the plan to check, the switch, one run. */
function agentArgs(target: string, allowRemote: boolean): string[] {
  return [
    "--listen",
    `0.0.0.0:${AGENT_PORT}`,
    // Kubernetes expands $(VAR) from the container's declared environment.
    "--index",
    "$(JOB_COMPLETION_INDEX)",
    "--segments",
    "1",
    "--plan",
    `${PLAN_DIR}/${PLAN_KEY}`,
    "--switch",
    target,
    "--once",
    ...(allowRemote ? ["--allow-remote"] : []),
  ];
}

/** `--segments` as the user typed it: a whole number >= 1, or an Error saying so. */
export function parseSegments(text: string | number | undefined): number {
  const value = typeof text === "number" ? text : /^\s*\d+\s*$/.test(text ?? "") ? Number(text) : Number.NaN;
  if (!Number.isInteger(value) || value < 1) {
    const shown = typeof text === "string" ? JSON.stringify(text) : String(text);
    throw new Error(`--segments: ${shown} is not a whole number >= 1`);
  }
  return value;
}

function checkSegments(segments: number, compiled: CompiledRun): number {
  parseSegments(segments);
  const limit = Math.min(maxSegments(compiled.fleet, compiled.terminal.count), MAX_INDEXED_PARALLELISM);
  if (segments > limit) {
    throw new Error(
      `--segments: ${segments}, but profile ${compiled.profile.name} splits into at most ${limit} segment(s) (${compiled.fleet.model} fleet of ${compiled.terminals} terminal(s))`,
    );
  }
  return segments;
}

/** The longest name that leaves room for `-<last index>` in a pod's hostname (a 63-character DNS label). */
const nameRoom = (segments: number) => DNS_LABEL_MAX - 1 - String(segments - 1).length;

/** `posstorm-<profile name>` as a DNS-1035 label: lowercase letters, digits and '-', short enough. */
export function defaultName(profileName: string, segments = 1): string {
  const slug = profileName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const name = (slug === "" ? "posstorm" : `posstorm-${slug}`).slice(0, nameRoom(segments));
  return name.replace(/-+$/, "");
}

function checkName(name: string, segments: number): void {
  // A Service name is a DNS-1035 label (starts with a letter); the Job's pods are <name>-<index>.
  if (!/^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(name)) {
    throw new Error(
      `--name: ${JSON.stringify(name)} is not a DNS label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit`,
    );
  }
  if (name.length > nameRoom(segments)) {
    throw new Error(
      `--name: ${JSON.stringify(name)} is ${name.length} characters; with ${segments} segment(s) the pods' hostnames (${name}-${segments - 1}) allow at most ${nameRoom(segments)}`,
    );
  }
}

function checkNamespace(namespace: string): void {
  if (namespace.length > DNS_LABEL_MAX || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(namespace)) {
    throw new Error(
      `--namespace: ${JSON.stringify(namespace)} is not a namespace name (a DNS label: at most 63 lowercase letters, digits and '-')`,
    );
  }
}

/** A Kubernetes resource quantity greater than zero ("1", "500m", "512Mi", "1.5Gi"), or an Error. */
function quantity(value: string, option: string): string {
  const match = /^(\d+(?:\.\d*)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(value);
  if (!match || Number(match[1]) <= 0) {
    throw new Error(
      `${option}: ${JSON.stringify(value)} is not a Kubernetes quantity above zero (1, 500m, 512Mi)`,
    );
  }
  return value;
}

/** Where the agents reach the switch: --target, else the profile's target, else an Error. */
function targetOf(compiled: CompiledRun, target: string | undefined): { host: string; port: number } {
  if (target !== undefined) return parseHostPort(target, "--target", 0);
  if (compiled.target) return { host: compiled.target.host, port: compiled.target.port };
  throw new Error(
    "export k8s needs the switch's address: the profile has no target; pass --target host:port",
  );
}

/** The fleet's run plan for the agents, checked as the fleet checks it before any terminal starts. */
function planOf(
  compiled: CompiledRun,
  runId: string,
  target: { host: string; port: number },
  allowRemote: boolean,
): RunPlan {
  if (compiled.terminal.keysFile) {
    throw new Error(
      `export k8s: the profile's terminal.keysFile (${compiled.terminal.keysFile}) is a file on this machine, which the agents' pods cannot read; export a profile whose terminals use the lab key`,
    );
  }
  if (!isLoopback(target.host) && !allowRemote) {
    throw new Error(
      `target ${target.host}:${target.port} is outside 127.0.0.0/8; posstorm loads loopback only unless --allow-remote`,
    );
  }
  const base = fleetPlanOf(runPlanOf(compiled, { runId }), target);
  const plan: RunPlan = {
    ...base,
    target: { ...target, ...(allowRemote ? { allowRemote: true } : {}) },
  };
  resolvePlan(plan); // throws what the fleet would refuse; the plan goes out as compiled
  return plan;
}

function warningsOf(plan: RunPlan): string[] {
  const { host, port } = plan.target;
  if (!isLoopback(host)) return [];
  return [
    `target ${formatHost(host)}:${port} is loopback: in a pod that is the pod itself, so the agents reach a switch there only if it runs in each agent's pod; a switch elsewhere needs its cluster address and --allow-remote`,
  ];
}

const formatHost = (host: string) => (host.includes(":") ? `[${host}]` : host);

/** One object as a manifest file's text: JSON (valid YAML), two-space indented, a final newline. */
const document = (object: unknown) => `${JSON.stringify(object, null, 2)}\n`;

/** A word for a POSIX shell: as it is when it is plain, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
