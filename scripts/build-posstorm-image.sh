#!/usr/bin/env bash
# The posstorm CLI as an image, for agents on Kubernetes (`posstorm export k8s`): posstorm/node plus the
# repository's harness/, bin/, profiles/, package.json and production node_modules, with `posstorm` on PATH.
# Opt-in (setup does not run it); push the image where the cluster pulls from.
#
#   bash scripts/build-posstorm-image.sh [IMAGE]     default posstorm/posstorm:<package.json version>
#
# Skipped when the image already records the digest of its inputs (POSSTORM_INPUTS).
source "$(dirname "$0")/lib.sh"

command -v docker >/dev/null || die "docker client not found: run scripts/engine.sh first"
docker image inspect "$NODE_IMAGE" >/dev/null 2>&1 || die "image $NODE_IMAGE missing: run scripts/images.sh first"

version=$(node -p 'require(process.argv[1]).version' "$POSSTORM_ROOT/package.json")
image=${1:-posstorm/posstorm:$version}

cd "$POSSTORM_ROOT"
sources=(harness bin profiles scripts/versions.env package.json package-lock.json)
inputs=$( (docker image inspect -f '{{.Id}}' "$NODE_IMAGE"; sha256sum scripts/build-posstorm-image.sh
  find "${sources[@]}" -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
current=$(docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$image" 2>/dev/null | sed -n 's/^POSSTORM_INPUTS=//p' || true)
if [ "$current" = "$inputs" ]; then
  log "image $image ready"
  exit 0
fi

start=$SECONDS
stage=$(mktemp -d)
container=""
cleanup() {
  [ -z "$container" ] || docker rm -f "$container" >/dev/null 2>&1 || true
  rm -rf "$stage"
}
trap cleanup EXIT

mkdir -p "$stage/app" "$stage/usr/local/bin"
cp -R harness bin profiles package.json package-lock.json "$stage/app/"
mkdir -p "$stage/app/scripts"
cp scripts/versions.env "$stage/app/scripts/"
log "installing posstorm's production npm packages for $image"
(cd "$stage/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
# The image has Node and no shell: `posstorm` is a Node launcher of the CLI (bin/posstorm is a bash script).
cat >"$stage/usr/local/bin/posstorm" <<'EOF'
#!/usr/local/bin/node
import("/app/harness/cli/main.ts");
EOF
chmod 0755 "$stage/usr/local/bin/posstorm"

container=$(docker create "$NODE_IMAGE")
docker cp "$stage/." "$container:/"
docker commit \
  --change "ENV POSSTORM_INPUTS=$inputs" \
  --change 'ENTRYPOINT ["/usr/local/bin/posstorm"]' \
  --change 'CMD ["--help"]' \
  --change 'WORKDIR /app' \
  --change 'USER 1000:1000' \
  "$container" "$image" >/dev/null
log "image $image built in $((SECONDS - start))s; push it where the cluster pulls from (docker tag / docker push)"
