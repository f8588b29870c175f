// k8s-check reads Kubernetes manifests and decodes each one strictly into the API's own types (k8s.io/api):
// an unknown or duplicate field, a value of the wrong type, or a kind posstorm does not write is an error. It
// then checks what `posstorm export k8s` relies on: an Indexed Job that never reruns a failed segment, and a
// headless Service that gives each of its pods a DNS name.
//
//	k8s-check FILE...
//
// Exit 0 with one line per file when every manifest is fine; 1 with one line per problem (file, object, field);
// 2 on a usage error.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// The kinds posstorm writes; any other apiVersion or kind is refused.
var kinds = []schema.GroupVersionKind{
	corev1.SchemeGroupVersion.WithKind("ConfigMap"),
	corev1.SchemeGroupVersion.WithKind("Service"),
	batchv1.SchemeGroupVersion.WithKind("Job"),
}

// A ConfigMap's data (keys and values) may not exceed 1 MiB.
const maxConfigMapBytes = 1 << 20

// A decoded manifest and where it came from.
type manifest struct {
	file string
	obj  runtime.Object
}

func (m manifest) label() string {
	switch o := m.obj.(type) {
	case *corev1.ConfigMap:
		return "ConfigMap " + o.Name
	case *corev1.Service:
		return "Service " + o.Name
	case *batchv1.Job:
		return "Job " + o.Name
	}
	return fmt.Sprintf("%T", m.obj)
}

func main() {
	files := os.Args[1:]
	if len(files) == 0 || files[0] == "-h" || files[0] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: k8s-check FILE...   (Kubernetes manifests: v1 ConfigMap, v1 Service, batch/v1 Job)")
		os.Exit(2)
	}
	decoder := newDecoder()
	var found []manifest
	var problems []string
	labels := map[string][]string{}
	for _, file := range files {
		objs, errs := decodeFile(decoder, file)
		problems = append(problems, errs...)
		for _, obj := range objs {
			m := manifest{file: file, obj: obj}
			found = append(found, m)
			labels[file] = append(labels[file], m.label())
			for _, p := range invariants(obj) {
				problems = append(problems, fmt.Sprintf("%s: %s: %s", file, m.label(), p))
			}
		}
	}
	problems = append(problems, crossChecks(found)...)
	if len(problems) > 0 {
		for _, p := range problems {
			// One line per problem (the YAML parser's own messages run over several).
			p = strings.ReplaceAll(strings.ReplaceAll(p, ":\n  ", ": "), "\n  ", "; ")
			fmt.Fprintf(os.Stderr, "k8s-check: %s\n", p)
		}
		os.Exit(1)
	}
	for _, file := range files {
		fmt.Printf("%s: ok (%s)\n", file, strings.Join(labels[file], ", "))
	}
}

// newDecoder is the API server's strict YAML decoder for the kinds posstorm writes: unknown and duplicate fields
// are strict decoding errors, field names match case-sensitively.
func newDecoder() *kjson.Serializer {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, batchv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
}

// decodeFile decodes every YAML document of a file; problems name the file (and the document when there are many).
func decodeFile(decoder *kjson.Serializer, file string) ([]runtime.Object, []string) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, []string{err.Error()}
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, []string{fmt.Sprintf("%s: %v", file, err)}
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 {
		return nil, []string{fmt.Sprintf("%s: no manifest in the file", file)}
	}
	var objs []runtime.Object
	var problems []string
	for n, doc := range docs {
		where := file
		if len(docs) > 1 {
			where = fmt.Sprintf("%s: document %d", file, n+1)
		}
		obj, errs := decodeDocument(decoder, doc)
		for _, e := range errs {
			problems = append(problems, fmt.Sprintf("%s: %s", where, e))
		}
		if obj != nil {
			objs = append(objs, obj)
		}
	}
	return objs, problems
}

// decodeDocument decodes one YAML document into its typed object. A strict decoding error (unknown or duplicate
// field) still returns the object; any other error returns none.
func decodeDocument(decoder *kjson.Serializer, doc []byte) (runtime.Object, []string) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, []string{fmt.Sprintf("not YAML: %v", err)}
	}
	gvk, err := kjson.DefaultMetaFactory.Interpret(js)
	if err != nil {
		return nil, []string{fmt.Sprintf("apiVersion, kind: %v", err)}
	}
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, []string{fmt.Sprintf("apiVersion %q, kind %q: both are required", gvk.GroupVersion().String(), gvk.Kind)}
	}
	if !known(*gvk) {
		return nil, []string{fmt.Sprintf("apiVersion %q, kind %q: not a kind posstorm writes (%s)",
			gvk.GroupVersion().String(), gvk.Kind, knownKinds())}
	}
	obj, _, err := decoder.Decode(doc, nil, nil)
	if strict, ok := runtime.AsStrictDecodingError(err); ok {
		var problems []string
		for _, e := range strict.Errors() {
			problems = append(problems, fmt.Sprintf("%s %s: %v", gvk.Kind, nameOf(obj), e))
		}
		return obj, problems
	}
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", gvk.Kind, err)}
	}
	return obj, nil
}

func known(gvk schema.GroupVersionKind) bool {
	for _, k := range kinds {
		if k == gvk {
			return true
		}
	}
	return false
}

func knownKinds() string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.GroupVersion().String() + " " + k.Kind
	}
	return strings.Join(names, ", ")
}

func nameOf(obj runtime.Object) string {
	if o, ok := obj.(interface{ GetName() string }); ok {
		return o.GetName()
	}
	return ""
}

// show prints an optional field: its value, or "missing".
func show[T any](v *T) string {
	if v == nil {
		return "missing"
	}
	return fmt.Sprintf("%v", *v)
}

// invariants of one object, each "field: what is wrong".
func invariants(obj runtime.Object) []string {
	var problems []string
	bad := func(field, format string, args ...any) {
		problems = append(problems, field+": "+fmt.Sprintf(format, args...))
	}
	name := func(value string, rule func(string) []string, what string) {
		if errs := rule(value); len(errs) > 0 {
			bad("metadata.name", "%q is not %s: %s", value, what, strings.Join(errs, "; "))
		}
	}
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		name(o.Name, validation.IsDNS1123Subdomain, "a DNS-1123 subdomain")
		size := 0
		for key, value := range o.Data {
			size += len(key) + len(value)
			if errs := validation.IsConfigMapKey(key); len(errs) > 0 {
				bad("data", "key %q: %s", key, strings.Join(errs, "; "))
			}
		}
		for key, value := range o.BinaryData {
			size += len(key) + len(value)
		}
		if size > maxConfigMapBytes {
			bad("data", "%d bytes, more than a ConfigMap holds (%d)", size, maxConfigMapBytes)
		}
	case *corev1.Service:
		name(o.Name, validation.IsDNS1035Label, "a DNS-1035 label")
		if o.Spec.ClusterIP != corev1.ClusterIPNone {
			bad("spec.clusterIP", "%q, want \"None\" (headless: a DNS name per pod)", o.Spec.ClusterIP)
		}
		if len(o.Spec.Selector) == 0 {
			bad("spec.selector", "empty: a headless Service without a selector names no pod")
		}
	case *batchv1.Job:
		name(o.Name, validation.IsDNS1123Label, "a DNS-1123 label (Indexed pods take it as their hostname)")
		s := o.Spec
		if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
			bad("spec.completionMode", "%s, want Indexed", show(s.CompletionMode))
		}
		if s.Completions == nil || *s.Completions < 1 {
			bad("spec.completions", "%s, want a whole number >= 1", show(s.Completions))
		} else {
			if s.Parallelism == nil || *s.Parallelism != *s.Completions {
				bad("spec.parallelism", "%s, want spec.completions (%d): every segment runs at once", show(s.Parallelism), *s.Completions)
			}
			if s.MaxFailedIndexes != nil && *s.MaxFailedIndexes > *s.Completions {
				bad("spec.maxFailedIndexes", "%d, want at most spec.completions (%d)", *s.MaxFailedIndexes, *s.Completions)
			}
			// Indexed pods get the hostname <job>-<index>, a DNS label of at most 63 characters.
			if host := fmt.Sprintf("%s-%d", o.Name, *s.Completions-1); len(host) > validation.DNS1123LabelMaxLength {
				bad("metadata.name", "%q: the last pod's hostname %q is longer than %d characters", o.Name, host, validation.DNS1123LabelMaxLength)
			}
		}
		if s.BackoffLimitPerIndex == nil || *s.BackoffLimitPerIndex != 0 {
			bad("spec.backoffLimitPerIndex", "%s, want 0 (a failed segment is never rerun)", show(s.BackoffLimitPerIndex))
		}
		if s.PodReplacementPolicy == nil || *s.PodReplacementPolicy != batchv1.Failed {
			bad("spec.podReplacementPolicy", "%s, want Failed", show(s.PodReplacementPolicy))
		}
		if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
			bad("spec.template.spec.restartPolicy", "%q, want Never (required by backoffLimitPerIndex)", s.Template.Spec.RestartPolicy)
		}
		if len(s.Template.Spec.Containers) == 0 {
			bad("spec.template.spec.containers", "empty")
		}
	}
	return problems
}

// crossChecks ties the files together when they hold the objects to tie: a Job's subdomain names one of the
// Services and that Service selects the Job's pods; a Job's ConfigMap volumes name ConfigMaps among them.
func crossChecks(found []manifest) []string {
	services := map[string]*corev1.Service{}
	configMaps := map[string]bool{}
	for _, m := range found {
		switch o := m.obj.(type) {
		case *corev1.Service:
			services[o.Namespace+"/"+o.Name] = o
		case *corev1.ConfigMap:
			configMaps[o.Namespace+"/"+o.Name] = true
		}
	}
	var problems []string
	for _, m := range found {
		job, ok := m.obj.(*batchv1.Job)
		if !ok {
			continue
		}
		bad := func(field, format string, args ...any) {
			problems = append(problems, fmt.Sprintf("%s: %s: %s: %s", m.file, m.label(), field, fmt.Sprintf(format, args...)))
		}
		pod := job.Spec.Template
		if len(services) > 0 {
			svc, ok := services[job.Namespace+"/"+pod.Spec.Subdomain]
			if !ok {
				bad("spec.template.spec.subdomain", "%q names none of the Services given (%s)", pod.Spec.Subdomain, keys(services))
			} else {
				for key, value := range svc.Spec.Selector {
					if pod.Labels[key] != value {
						bad("spec.template.metadata.labels", "%s=%q is missing: Service %s selects no pod of this Job", key, value, svc.Name)
					}
				}
			}
		}
		if len(configMaps) > 0 {
			for i, volume := range pod.Spec.Volumes {
				if volume.ConfigMap != nil && !configMaps[job.Namespace+"/"+volume.ConfigMap.Name] {
					bad(fmt.Sprintf("spec.template.spec.volumes[%d].configMap.name", i), "%q names none of the ConfigMaps given", volume.ConfigMap.Name)
				}
			}
		}
	}
	return problems
}

func keys[T any](m map[string]T) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, strings.TrimPrefix(k, "/"))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
