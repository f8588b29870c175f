#!/usr/bin/env bash
# Images are assembled locally with `docker import` from a root filesystem: no registry, no base image.
#   posstorm/toxiproxy  the static toxiproxy-server alone (a FROM-scratch image)
#   posstorm/node       the pinned Node runtime with the shared libraries it links against
#   posstorm/lab        posstorm/node plus the switch, HSM and issuer simulators (scripts/build-lab-image.ts)
# Each image records the digest of its inputs in the env var POSSTORM_INPUTS; an unchanged image is kept.
source "$(dirname "$0")/lib.sh"

command -v docker >/dev/null || die "docker client not found: run scripts/engine.sh first"

image_inputs() { docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" 2>/dev/null | sed -n 's/^POSSTORM_INPUTS=//p'; }

# import_rootfs DIR IMAGE INPUTS CHANGE...: import DIR as IMAGE with the given Dockerfile-style changes.
import_rootfs() {
  local dir=$1 image=$2 inputs=$3; shift 3
  local args=(--change "ENV POSSTORM_INPUTS=$inputs")
  for change in "$@"; do args+=(--change "$change"); done
  tar --numeric-owner --owner=0 --group=0 -C "$dir" -c . | docker import "${args[@]}" - "$image" >/dev/null
}

build_toxiproxy() {
  local bin="$POSSTORM_TOOLS/bin/toxiproxy-server"
  [ -x "$bin" ] || die "$bin missing: run scripts/build-toxiproxy.sh first"
  local inputs; inputs=$(hash_files "$bin")
  if [ "$(image_inputs "$TOXIPROXY_IMAGE")" = "$inputs" ]; then log "image $TOXIPROXY_IMAGE ready"; return; fi
  local root; root=$(mktemp -d)
  mkdir -p "$root/tmp"
  cp "$bin" "$root/toxiproxy-server"
  import_rootfs "$root" "$TOXIPROXY_IMAGE" "$inputs" \
    'ENTRYPOINT ["/toxiproxy-server"]' 'CMD ["-host", "127.0.0.1", "-port", "8474"]'
  rm -rf "$root"
  log "image $TOXIPROXY_IMAGE built"
}

build_node() {
  local node="$POSSTORM_TOOLS/node/bin/node"
  [ -x "$node" ] || die "$node missing: run scripts/setup-node.sh first"
  local inputs; inputs=$(hash_files "$node")
  if [ "$(image_inputs "$NODE_IMAGE")" = "$inputs" ]; then log "image $NODE_IMAGE ready"; return; fi
  local root; root=$(mktemp -d)
  mkdir -p "$root/usr/local/bin" "$root/tmp" "$root/etc" "$root/app"
  chmod 1777 "$root/tmp"
  cp "$node" "$root/usr/local/bin/node"
  # The dynamic loader and every library node links against, at the same paths as on this machine.
  local lib
  for lib in $(ldd "$node" | grep -oE '/[^ ]+'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000:node:/app:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
  printf 'hosts: files\n' >"$root/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
  import_rootfs "$root" "$NODE_IMAGE" "$inputs" \
    'ENTRYPOINT ["/usr/local/bin/node"]' 'WORKDIR /app' 'ENV NODE_ENV=production'
  rm -rf "$root"
  log "image $NODE_IMAGE built"
}

build_toxiproxy
build_node
# The lab programs bundled onto the Node image (a Node script: it bundles with esbuild).
node "$POSSTORM_ROOT/scripts/build-lab-image.ts"
