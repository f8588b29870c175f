#!/usr/bin/env bash
# k6 v2 with posstorm's in-tree k6/x/tcp extension (scripts/k6), static with CGO off, into .tools/bin/k6.
# Module versions are pinned in scripts/k6/go.mod + go.sum; the build never edits them (-mod=readonly).
# Rebuilds only when those files or the Go sources change (stamp .tools/stamps/k6).
source "$(dirname "$0")/lib.sh"

GO_MIN=1.25
src="$POSSTORM_ROOT/scripts/k6"
out="$POSSTORM_TOOLS/bin/k6"

k6_module=$(awk '$1 == "go.k6.io/k6/v2" { print $2 }' "$src/go.mod")
[ -n "$k6_module" ] || die "scripts/k6/go.mod does not require go.k6.io/k6/v2"
sources=("$src/go.mod" "$src/go.sum")
while IFS= read -r file; do sources+=("$file"); done \
  < <(find "$src" -name '*.go' ! -name '*_test.go' | LC_ALL=C sort)
inputs=$(hash_files "${sources[@]}")

if [ -x "$out" ] && stamp_ok k6 "$inputs"; then
  log "k6 ready ($k6_module + k6/x/tcp)"
  exit 0
fi
command -v go >/dev/null \
  || die "go not found: k6 is built from Go modules; install Go >= $GO_MIN (the machine image ships Go 1.26)"
go_version=$(go env GOVERSION) # e.g. go1.26.8
version_ge "${go_version#go}" "$GO_MIN" \
  || die "$go_version is too old to build k6 v2: install Go >= $GO_MIN (the machine image ships Go 1.26)"
if [ "$k6_module" != "$K6_VERSION" ]; then
  log "note: scripts/k6/go.mod pins k6 $k6_module, versions.env says K6_VERSION=$K6_VERSION"
fi

log "building k6 $k6_module with k6/x/tcp ($go_version; the first build downloads and compiles ~100 modules)"
start=$SECONDS
mkdir -p "$POSSTORM_TOOLS/bin"
(cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w" -o "$out.tmp" .)
mv "$out.tmp" "$out"
version_text=$("$out" version)
grep -q 'k6/x/tcp' <<<"$version_text" || die "$out was built but 'k6 version' does not list k6/x/tcp"
stamp_set k6 "$inputs"
log "k6 $(awk 'NR == 1 { print $2 }' <<<"$version_text") with k6/x/tcp built in $((SECONDS - start))s"
