package main

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

// A Job as `posstorm export k8s` writes it, cut to what the checks read.
const job = `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"posstorm-smoke"},
"spec":{"completionMode":"Indexed","completions":3,"parallelism":3,"backoffLimitPerIndex":0,"maxFailedIndexes":3,
"podReplacementPolicy":"Failed","template":{"metadata":{"labels":{"app.kubernetes.io/instance":"posstorm-smoke"}},
"spec":{"subdomain":"posstorm-smoke","restartPolicy":"Never","containers":[{"name":"agent","image":"posstorm/posstorm:0.1.0"}],
"volumes":[{"name":"plan","configMap":{"name":"posstorm-smoke-plan"}}]}}}}`

const service = `apiVersion: v1
kind: Service
metadata: {name: posstorm-smoke}
spec:
  clusterIP: None
  selector: {app.kubernetes.io/instance: posstorm-smoke}
  ports: [{name: agent, port: 7070}]
`

func decode(t *testing.T, doc string) (runtime.Object, []string) {
	t.Helper()
	return decodeDocument(newDecoder(), []byte(doc))
}

func mustHave(t *testing.T, problems []string, want string) {
	t.Helper()
	for _, p := range problems {
		if strings.Contains(p, want) {
			return
		}
	}
	t.Fatalf("no problem mentions %q in %q", want, problems)
}

func TestAGoodJobAndServicePass(t *testing.T) {
	var found []manifest
	for _, doc := range []string{job, service} {
		obj, problems := decode(t, doc)
		if len(problems) > 0 || obj == nil {
			t.Fatalf("decode: %v", problems)
		}
		if problems := invariants(obj); len(problems) > 0 {
			t.Fatalf("invariants: %v", problems)
		}
		found = append(found, manifest{file: "f", obj: obj})
	}
	if problems := crossChecks(found); len(problems) > 0 {
		t.Fatalf("cross checks: %v", problems)
	}
}

func TestUnknownDuplicateAndMistypedFieldsFail(t *testing.T) {
	_, problems := decode(t, strings.Replace(job, `"completionMode"`, `"completionMod"`, 1))
	mustHave(t, problems, `unknown field "spec.completionMod"`)
	_, problems = decode(t, strings.Replace(job, `"image":`, `"imagePullPolicyy":"x","image":`, 1))
	mustHave(t, problems, `unknown field "spec.template.spec.containers[0].imagePullPolicyy"`)
	_, problems = decode(t, strings.Replace(job, `"completions":3`, `"completions":"three"`, 1))
	mustHave(t, problems, "spec.completions")
	_, problems = decode(t, strings.Replace(service, "clusterIP: None", "clusterIP: None\n  clusterIP: None", 1))
	mustHave(t, problems, `"clusterIP" already set`)
	_, problems = decode(t, strings.Replace(job, `"parallelism"`, `"Parallelism"`, 1))
	mustHave(t, problems, `unknown field "spec.Parallelism"`)
}

func TestOtherKindsAreRefused(t *testing.T) {
	_, problems := decode(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n")
	mustHave(t, problems, `kind "Pod": not a kind posstorm writes`)
	_, problems = decode(t, strings.Replace(job, `"batch/v1"`, `"batch/v2"`, 1))
	mustHave(t, problems, `apiVersion "batch/v2"`)
}

func TestInvariants(t *testing.T) {
	obj, _ := decode(t, strings.NewReplacer(`"Indexed"`, `"NonIndexed"`, `"parallelism":3`, `"parallelism":2`,
		`"backoffLimitPerIndex":0`, `"backoffLimitPerIndex":1`, `"Failed"`, `"TerminatingOrFailed"`,
		`"Never"`, `"OnFailure"`).Replace(job))
	problems := invariants(obj)
	for _, field := range []string{"spec.completionMode", "spec.parallelism", "spec.backoffLimitPerIndex",
		"spec.podReplacementPolicy", "spec.template.spec.restartPolicy"} {
		mustHave(t, problems, field+":")
	}
	obj, _ = decode(t, strings.Replace(service, "clusterIP: None", "clusterIP: 10.0.0.1", 1))
	mustHave(t, invariants(obj), "spec.clusterIP:")
}

func TestTheJobMustUseTheServiceItIsGiven(t *testing.T) {
	jobObj, _ := decode(t, strings.Replace(job, `"subdomain":"posstorm-smoke"`, `"subdomain":"other"`, 1))
	svcObj, _ := decode(t, service)
	problems := crossChecks([]manifest{{file: "job.yaml", obj: jobObj}, {file: "service.yaml", obj: svcObj}})
	mustHave(t, problems, "spec.template.spec.subdomain")
}
