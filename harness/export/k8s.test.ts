import { beforeAll, describe, expect, it } from "vitest";
import { planFingerprint } from "../fleet/index.ts";
import type { RunPlan } from "../fleet/plan.ts";
import { resolvePlan } from "../fleet/plan-check.ts";
import { type CompiledRun, fleetPlanOf, loadProfile, runPlanOf } from "../profile/compile.ts";
import { defaultName, type K8sExportOptions, k8sManifests, parseSegments } from "./k8s.ts";

// The manifests as data: each file parsed back (JSON is the YAML it is written as) and read field by field.
// scripts/k8s-check decodes them into the Kubernetes API's own types (harness/export/k8s.int.test.ts).

// biome-ignore lint/suspicious/noExplicitAny: manifests are read back as plain JSON.
type Json = any;

let smoke: CompiledRun;
beforeAll(async () => {
  smoke = (await loadProfile("smoke")).compiled;
});

const base: K8sExportOptions = { segments: 3, target: "127.0.0.1:9000", version: "9.8.7" };

function build(options: Partial<K8sExportOptions> = {}, compiled = smoke) {
  const out = k8sManifests(compiled, { ...base, ...options });
  const file = (name: string): Json => JSON.parse(out.files.find((f) => f.name === name)!.text);
  return { out, configMap: file("configmap.yaml"), service: file("service.yaml"), job: file("job.yaml") };
}

describe("posstorm export k8s: the manifests", () => {
  it("writes a ConfigMap, a headless Service and an Indexed Job, one object per file", () => {
    const { out, configMap, service, job } = build();
    expect(out.files.map((f) => f.name)).toEqual(["configmap.yaml", "service.yaml", "job.yaml"]);
    expect([configMap, service, job].map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`)).toEqual([
      "v1 ConfigMap posstorm-smoke-plan",
      "v1 Service posstorm-smoke",
      "batch/v1 Job posstorm-smoke",
    ]);
    for (const object of [configMap, service, job]) {
      expect(object.metadata.labels).toEqual({
        "app.kubernetes.io/name": "posstorm-agent",
        "app.kubernetes.io/instance": "posstorm-smoke",
      });
      expect(object.metadata).not.toHaveProperty("namespace");
    }
    for (const file of out.files) expect(file.text.endsWith("}\n")).toBe(true);
  });

  it("the Job never reruns a failed segment: Indexed, one pod per segment, no retry, replacement only when gone", () => {
    const { job } = build({ segments: 3 });
    expect(job.spec).toMatchObject({
      completionMode: "Indexed",
      completions: 3,
      parallelism: 3,
      backoffLimitPerIndex: 0,
      maxFailedIndexes: 3,
      podReplacementPolicy: "Failed",
    });
    expect(job.spec.template.spec.restartPolicy).toBe("Never");
  });

  it("the Service is headless, selects the Job's pods and is their subdomain: one DNS name per pod", () => {
    const { service, job } = build();
    expect(service.spec.clusterIP).toBe("None");
    expect(service.spec.ports).toEqual([{ name: "agent", port: 7070, targetPort: "agent", protocol: "TCP" }]);
    expect(job.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(job.spec.template.spec.subdomain).toBe(service.metadata.name);
    const [container] = job.spec.template.spec.containers;
    expect(container.ports).toEqual([{ name: "agent", containerPort: 7070, protocol: "TCP" }]);
    expect(container.readinessProbe.tcpSocket).toEqual({ port: "agent" });
  });

  it("N segments: N completions, N agents for the coordinator", () => {
    for (const segments of [1, 7, 50]) {
      const { out, job } = build({ segments });
      expect([job.spec.completions, job.spec.parallelism, job.spec.maxFailedIndexes]).toEqual([
        segments,
        segments,
        segments,
      ]);
      expect(out.agents).toHaveLength(segments);
      expect(out.agents.at(-1)).toBe(`posstorm-smoke-${segments - 1}.posstorm-smoke:7070`);
    }
    expect(build({ segments: 2 }).out.coordinator).toBe(
      "posstorm run smoke --agents posstorm-smoke-0.posstorm-smoke:7070,posstorm-smoke-1.posstorm-smoke:7070",
    );
  });

  it("runs `posstorm agent` for its index, one segment, the plan mounted from the ConfigMap, the switch, once", () => {
    const { job, configMap } = build();
    const pod = job.spec.template.spec;
    const [container] = pod.containers;
    expect(container.image).toBe("posstorm/posstorm:9.8.7");
    expect([...container.command, ...container.args].join(" ")).toBe(
      "posstorm agent --listen 0.0.0.0:7070 --index $(JOB_COMPLETION_INDEX) --segments 1 --plan /etc/posstorm/plan.json --switch 127.0.0.1:9000 --once",
    );
    // $(JOB_COMPLETION_INDEX) expands only from a variable the container declares.
    expect(container.env).toEqual([
      {
        name: "JOB_COMPLETION_INDEX",
        valueFrom: {
          fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" },
        },
      },
    ]);
    expect(container.volumeMounts).toEqual([{ name: "plan", mountPath: "/etc/posstorm", readOnly: true }]);
    expect(pod.volumes).toEqual([{ name: "plan", configMap: { name: configMap.metadata.name } }]);
    expect(Object.keys(configMap.data)).toEqual(["plan.json"]);
    expect(container.resources).toEqual({ requests: { cpu: "1", memory: "512Mi" } });
    const custom = build({ image: "registry.example/posstorm:dev", cpu: "1500m", memory: "1Gi" }).job;
    expect(custom.spec.template.spec.containers[0].image).toBe("registry.example/posstorm:dev");
    expect(custom.spec.template.spec.containers[0].resources.requests).toEqual({
      cpu: "1500m",
      memory: "1Gi",
    });
  });

  it("plan.json is the fleet's run plan as `posstorm run` compiles it, with the target", () => {
    const { out, configMap } = build();
    const plan = JSON.parse(configMap.data["plan.json"]) as RunPlan;
    expect(plan).toEqual(
      fleetPlanOf(runPlanOf(smoke, { runId: "posstorm-smoke" }), { host: "127.0.0.1", port: 9000 }),
    );
    expect(plan).toEqual(out.plan);
    expect(plan.target).not.toHaveProperty("allowRemote");
    // An agent refuses a coordinator whose plan has another fingerprint than the one mounted: the plan
    // `posstorm run` compiles from the same profile (its own run id, its own target) must have this one.
    const coordinators = resolvePlan(
      fleetPlanOf(runPlanOf(smoke, { runId: "run-1" }), { host: "127.0.0.1", port: 4242 }),
    );
    expect(planFingerprint(coordinators)).toBe(planFingerprint(plan));
  });

  it("the same inputs give the same files", () => {
    expect(build().out.files).toEqual(build().out.files);
  });

  it("a remote switch with --allow-remote: in the plan, the agents' flags and the coordinator's", () => {
    const { out, job, configMap } = build({ target: "switch.payments.svc:5000", allowRemote: true });
    expect(JSON.parse(configMap.data["plan.json"]).target).toEqual({
      host: "switch.payments.svc",
      port: 5000,
      allowRemote: true,
    });
    const args: string[] = job.spec.template.spec.containers[0].args;
    expect(args.slice(-4)).toEqual(["--switch", "switch.payments.svc:5000", "--once", "--allow-remote"]);
    expect(out.coordinator.endsWith(" --allow-remote")).toBe(true);
    expect(out.warnings).toEqual([]);
  });

  it("warns that a loopback target is the pod itself", () => {
    expect(build().out.warnings).toEqual([expect.stringMatching(/127\.0\.0\.1:9000 is loopback: in a pod/)]);
  });

  it("takes the profile's own target when there is no --target, and --target over it", () => {
    const withTarget: CompiledRun = { ...smoke, target: { host: "127.0.0.2", port: 8583 } };
    expect(build({ target: undefined }, withTarget).out.plan.target).toEqual({
      host: "127.0.0.2",
      port: 8583,
    });
    expect(build({ target: "127.0.0.3:1" }, withTarget).out.plan.target).toEqual({
      host: "127.0.0.3",
      port: 1,
    });
  });

  it("a namespace goes into every object and the agents' DNS names", () => {
    const { out, configMap, service, job } = build({ namespace: "load", segments: 2 });
    for (const object of [configMap, service, job]) expect(object.metadata.namespace).toBe("load");
    expect(out.agents).toEqual([
      "posstorm-smoke-0.posstorm-smoke.load:7070",
      "posstorm-smoke-1.posstorm-smoke.load:7070",
    ]);
  });
});

describe("names", () => {
  it("defaults to posstorm-<profile name> as a DNS label", () => {
    expect(defaultName("smoke")).toBe("posstorm-smoke");
    expect(defaultName("Morning Signin_Storm!! v2")).toBe("posstorm-morning-signin-storm-v2");
    expect(defaultName("--")).toBe("posstorm");
    expect(build({}, { ...smoke, profile: { ...smoke.profile, name: "Lunch.Peak" } }).out.name).toBe(
      "posstorm-lunch-peak",
    );
  });

  it("leaves room for the last pod's index in its 63-character hostname, and ends on a letter or digit", () => {
    const long = `${"a".repeat(50)}-${"b".repeat(30)}`;
    expect(defaultName(long, 1)).toHaveLength(61);
    expect(defaultName(long, 100)).toHaveLength(59);
    expect(defaultName(`${"a".repeat(52)}-bbbbbbbbbb`, 1)).toBe(`posstorm-${"a".repeat(52)}`);
    for (const segments of [1, 10, 11, 1000]) {
      const { out } = build(
        { segments: Math.min(segments, 50) },
        { ...smoke, profile: { ...smoke.profile, name: long } },
      );
      const host = `${out.name}-${Math.min(segments, 50) - 1}`;
      expect(host.length).toBeLessThanOrEqual(63);
      expect(out.name).toMatch(/^[a-z]([a-z0-9-]*[a-z0-9])?$/);
    }
  });

  it("--name must be a DNS label short enough for the pods' hostnames", () => {
    expect(build({ name: "load-test" }).job.metadata.name).toBe("load-test");
    expect(build({ name: "load-test" }).configMap.metadata.name).toBe("load-test-plan");
    for (const name of ["Load", "9lives", "a_b", "trailing-", ""]) {
      expect(() => build({ name })).toThrow(/^--name: .* is not a DNS label/);
    }
    expect(() => build({ name: "a".repeat(61), segments: 11 })).toThrow(
      /--name: .* is 61 characters; with 11 segment\(s\) the pods' hostnames .* allow at most 60/,
    );
  });
});

describe("errors", () => {
  it("no target: neither --target nor the profile's", () => {
    expect(() => build({ target: undefined })).toThrow(
      "export k8s needs the switch's address: the profile has no target; pass --target host:port",
    );
    expect(() => build({ target: "nowhere" })).toThrow(/--target: "nowhere" is not host:port/);
  });

  it("bad segments: not a whole number >= 1, or more than the fleet splits into", () => {
    for (const segments of [0, -1, 2.5, Number.NaN]) {
      expect(() => build({ segments })).toThrow(/^--segments: .* is not a whole number >= 1/);
    }
    expect(() => build({ segments: 51 })).toThrow(
      "--segments: 51, but profile smoke splits into at most 50 segment(s) (population fleet of 50 terminal(s))",
    );
    expect(parseSegments("4")).toBe(4);
    for (const text of ["0", "2.5", "three", "", "1e3", undefined]) {
      expect(() => parseSegments(text)).toThrow(/^--segments: .* is not a whole number >= 1/);
    }
  });

  it("a remote target without --allow-remote is refused, as the fleet refuses it", () => {
    expect(() => build({ target: "10.0.0.5:9000" })).toThrow(
      "target 10.0.0.5:9000 is outside 127.0.0.0/8; posstorm loads loopback only unless --allow-remote",
    );
    expect(() => build({ target: "10.0.0.5:9000", allowRemote: true })).not.toThrow();
  });

  it("quantities, namespaces, images and a terminal list only this machine can read", () => {
    expect(() => build({ cpu: "0" })).toThrow(/^--cpu: "0" is not a Kubernetes quantity/);
    expect(() => build({ memory: "lots" })).toThrow(/^--memory: "lots" is not a Kubernetes quantity/);
    expect(() => build({ namespace: "Load" })).toThrow(/^--namespace: "Load" is not a namespace name/);
    expect(() => build({ image: "two words" })).toThrow(/^--image: /);
    const keyed: CompiledRun = { ...smoke, terminal: { ...smoke.terminal, keysFile: "/home/me/keys.csv" } };
    expect(() => build({}, keyed)).toThrow(
      /terminal\.keysFile \(\/home\/me\/keys\.csv\) is a file on this machine/,
    );
  });
});
