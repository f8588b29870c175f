#!/usr/bin/env bash
# The main job: set up (idempotent), check every prerequisite, then a smoke run of the real parts
# (k6 terminals through Toxiproxy with a fault on the timeline) that leaves its report in reports/.
source "$(dirname "$0")/lib.sh"
bash "$POSSTORM_ROOT/scripts/setup.sh"
"$POSSTORM_ROOT/bin/posstorm" doctor
"$POSSTORM_ROOT/bin/posstorm" selftest "$@"
