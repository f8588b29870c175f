#!/usr/bin/env bash
# mini-switch (switches/mini-switch): a small Go switch, standard library only, for the tests of a switch
# posstorm did not write. Rebuilt when its sources change.
source "$(dirname "$0")/lib.sh"

src="$POSSTORM_ROOT/switches/mini-switch"
out="$POSSTORM_TOOLS/bin/mini-switch"
inputs=$(hash_files "$src/go.mod" "$src/main.go")
if [ -x "$out" ] && stamp_ok mini-switch "$inputs"; then
  log "mini-switch ready"
  exit 0
fi
command -v go >/dev/null || die "go not found: mini-switch is built with Go >= 1.24 (the machine image ships Go 1.26)"
start=$SECONDS
mkdir -p "$POSSTORM_TOOLS/bin"
(cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w" -o "$out.tmp" .)
mv "$out.tmp" "$out"
stamp_set mini-switch "$inputs"
log "mini-switch built in $((SECONDS - start))s"
