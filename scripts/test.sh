#!/usr/bin/env bash
# The test command: set up (idempotent), then lint, type-check, unit and integration tests on the
# real parts. Ends with the line `N passed, N failed, N skipped`; exits non-zero on any failure.
source "$(dirname "$0")/lib.sh"
bash "$POSSTORM_ROOT/scripts/setup.sh"
cd "$POSSTORM_ROOT"
npm test --silent
