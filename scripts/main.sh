#!/usr/bin/env bash
# The main job: set up (idempotent), check every prerequisite, then run the `smoke` profile against the
# reference lab (the fleet engine's terminals through Toxiproxy, a fault on the timeline); the run folder lands in reports/.
# Extra arguments go to `posstorm run` (e.g. --runtime local).
source "$(dirname "$0")/lib.sh"
bash "$POSSTORM_ROOT/scripts/setup.sh"
"$POSSTORM_ROOT/bin/posstorm" doctor
"$POSSTORM_ROOT/bin/posstorm" run smoke "$@"
