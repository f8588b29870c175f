#!/usr/bin/env bash
# Runs a command with the project's Node (.tools/node, provisioned by scripts/setup.sh) first on PATH. Every npm
# script goes through it: npm itself may run on the machine's older Node, which cannot run the .ts files.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=${POSSTORM_TOOLS:-$here/.tools}
if [ ! -x "$tools/node/bin/node" ]; then
  echo "posstorm: the project's Node is not set up in $tools/node; run: bash scripts/setup.sh" >&2
  exit 2
fi
export PATH="$tools/node/bin:$tools/bin:$here/node_modules/.bin:$PATH" TESTCONTAINERS_RYUK_DISABLED=true
exec "$@"
