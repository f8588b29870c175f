#!/usr/bin/env bash
# Toxiproxy server, built from its Go module (pinned in scripts/toxiproxy/go.mod), static with CGO off: its own
# server main (scripts/toxiproxy/main.go) with posstorm's `corrupt` toxic registered (corrupt.go).
source "$(dirname "$0")/lib.sh"

src="$POSSTORM_ROOT/scripts/toxiproxy"
out="$POSSTORM_TOOLS/bin/toxiproxy-server"
inputs=$(hash_files "$src/go.mod" "$src/go.sum" "$src/main.go" "$src/corrupt.go" "$src/corrupt_test.go" "$POSSTORM_ROOT/scripts/versions.env")
if [ -x "$out" ] && stamp_ok toxiproxy "$inputs"; then
  log "toxiproxy-server $TOXIPROXY_VERSION ready"
  exit 0
fi
command -v go >/dev/null || die "go not found: Toxiproxy is built from Go modules; install Go >= 1.24 (the machine image ships Go 1.26)"

log "building toxiproxy-server $TOXIPROXY_VERSION from Go modules"
start=$SECONDS
# The corrupt toxic's own test first: a toxic that damages frames wrongly must not reach the lab.
go_build_tested "$src" "$out" "the corrupt toxic's test failed" \
  -ldflags "-s -w -X github.com/Shopify/toxiproxy/v2.Version=${TOXIPROXY_VERSION#v}"
stamp_set toxiproxy "$inputs"
log "toxiproxy-server $("$out" -version | awk '{print $NF}') built in $((SECONDS - start))s"
