# Shared by the setup scripts: paths, pinned versions, logging, the tools PATH.
# Source it; do not run it.
set -euo pipefail

POSSTORM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
POSSTORM_TOOLS=${POSSTORM_TOOLS:-$POSSTORM_ROOT/.tools}
export POSSTORM_ROOT POSSTORM_TOOLS
# shellcheck source=versions.env
source "$POSSTORM_ROOT/scripts/versions.env"

export PATH="$POSSTORM_TOOLS/node/bin:$POSSTORM_TOOLS/bin:$PATH"
export TESTCONTAINERS_RYUK_DISABLED=true

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 2; }

# version_ge A B: true when dotted version A >= B.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# stamp_ok NAME VALUE: true when .tools/stamps/NAME holds VALUE (the inputs of a step are unchanged).
stamp_ok() { [ -f "$POSSTORM_TOOLS/stamps/$1" ] && [ "$(cat "$POSSTORM_TOOLS/stamps/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$POSSTORM_TOOLS/stamps"; printf '%s' "$2" >"$POSSTORM_TOOLS/stamps/$1"; }

# hash_files FILE...: one digest of the files' contents (the inputs of a build).
hash_files() { cat "$@" | sha256sum | cut -c1-16; }

# go_build_tested <src dir> <out> <what failed> [go build args…]: the Go module's own tests, then a static build
# (CGO off, go.sum as committed) into <out>, replaced only once the build succeeded.
go_build_tested() {
  local src=$1 out=$2 failed=$3
  shift 3
  mkdir -p "$(dirname "$out")"
  (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go test -count=1 .) || die "$failed"
  (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath "$@" -o "$out.tmp" .)
  mv "$out.tmp" "$out"
}
