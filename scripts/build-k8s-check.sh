#!/usr/bin/env bash
# k8s-check (scripts/k8s-check): decodes Kubernetes manifests strictly into the API's own Go types (k8s.io/api,
# pinned in its go.mod) and checks what `posstorm export k8s` relies on. Static, CGO off; rebuilt when its
# sources change. The tests of `posstorm export k8s` run it on the manifests the command writes.
source "$(dirname "$0")/lib.sh"

src="$POSSTORM_ROOT/scripts/k8s-check"
out="$POSSTORM_TOOLS/bin/k8s-check"
inputs=$(hash_files "$src/go.mod" "$src/go.sum" "$src/main.go" "$src/main_test.go")
if [ -x "$out" ] && stamp_ok k8s-check "$inputs"; then
  log "k8s-check ready"
  exit 0
fi
command -v go >/dev/null || die "go not found: k8s-check is built from Go modules; install Go >= 1.26 (the machine image ships Go 1.26)"

log "building k8s-check from Go modules"
start=$SECONDS
# Its own test first: a checker that passes broken manifests must not vouch for the export.
go_build_tested "$src" "$out" "k8s-check's test failed" -ldflags "-s -w"
stamp_set k8s-check "$inputs"
log "k8s-check built in $((SECONDS - start))s"
