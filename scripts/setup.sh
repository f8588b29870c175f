#!/usr/bin/env bash
# Everything posstorm needs on this machine, idempotently: Node 24, npm packages, toxiproxy-server (built
# from pinned Go modules), the Debian programs the harness runs, a Docker engine, and the locally built images.
# A second run with nothing changed only checks, in well under a minute.
source "$(dirname "$0")/lib.sh"
start=$SECONDS
scripts="$POSSTORM_ROOT/scripts"

bash "$scripts/setup-node.sh"

lock_hash=$(hash_files "$POSSTORM_ROOT/package-lock.json")
if [ -d "$POSSTORM_ROOT/node_modules" ] && stamp_ok npm "$lock_hash"; then
  log "npm packages ready"
else
  log "installing npm packages (npm ci)"
  (cd "$POSSTORM_ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  stamp_set npm "$lock_hash"
fi

bash "$scripts/build-toxiproxy.sh"
bash "$scripts/build-k8s-check.sh"
bash "$scripts/build-mini-switch.sh"
bash "$scripts/system.sh"
bash "$scripts/engine.sh"
bash "$scripts/images.sh"
bash "$scripts/browser.sh"
log "setup complete in $((SECONDS - start))s"
