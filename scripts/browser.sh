#!/usr/bin/env bash
# Chromium for the report's browser check and screenshot (harness/report/browser.ts): Debian's `chromium`
# package at the pinned CHROMIUM_DEB_VERSION, installed as root on Debian. Debian serves only the current
# security release, so when the pin is no longer served the candidate is installed with a warning.
# Optional: elsewhere this step says what is missing and setup goes on (only the browser test needs it).
source "$(dirname "$0")/lib.sh"

installed_version() { { dpkg-query -W -f='${db:Status-Abbrev}${Version}' chromium 2>/dev/null || true; } | sed -n 's/^ii *//p'; }

if [ -n "${POSSTORM_CHROMIUM:-}" ]; then
  [ -x "$POSSTORM_CHROMIUM" ] || die "POSSTORM_CHROMIUM=$POSSTORM_CHROMIUM is not an executable"
  log "chromium from POSSTORM_CHROMIUM=$POSSTORM_CHROMIUM (not provisioned)"
  exit 0
fi

have=""
command -v dpkg-query >/dev/null && have=$(installed_version)
if [ "$have" = "$CHROMIUM_DEB_VERSION" ]; then
  log "chromium $have ready"
  exit 0
fi
# A candidate installed because the pin was no longer served: keep it until the pin changes.
if [ -n "$have" ] && stamp_ok chromium "$CHROMIUM_DEB_VERSION -> $have"; then
  log "warning: chromium $have installed, not the pinned $CHROMIUM_DEB_VERSION (no longer served by Debian);" \
    "update CHROMIUM_DEB_VERSION in scripts/versions.env"
  exit 0
fi

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ] || ! command -v apt-get >/dev/null; then
  other=$(command -v chromium chromium-browser google-chrome-stable google-chrome 2>/dev/null | head -n1 || true)
  if [ -n "$other" ]; then
    log "warning: using $other; posstorm pins Debian's chromium $CHROMIUM_DEB_VERSION (installed only as root on Debian)"
  else
    log "warning: no chromium found; the report's browser test and scripts/screenshot-report.ts need one.
  As root on Debian: apt-get install chromium=$CHROMIUM_DEB_VERSION; elsewhere install Chromium or Chrome
  and put it on PATH or set POSSTORM_CHROMIUM=/path/to/chrome. Setup goes on without it."
  fi
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
apt-get update -qq
want=$CHROMIUM_DEB_VERSION
if ! apt-cache madison chromium | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | grep -qxF "$want"; then
  want=$(apt-cache policy chromium | sed -n 's/^ *Candidate: *//p')
  [ -n "$want" ] && [ "$want" != "(none)" ] || die "Debian serves no chromium package (apt-cache policy chromium)"
  log "warning: chromium $CHROMIUM_DEB_VERSION is no longer served by Debian; installing the candidate $want" \
    "(update CHROMIUM_DEB_VERSION in scripts/versions.env)"
fi
log "installing Debian's chromium $want${have:+ (replacing $have)}"
start=$SECONDS
# chromium-common is pinned too: chromium depends on its exact version, apt would pick the candidate's.
apt-get install -y -qq --no-install-recommends --allow-downgrades "chromium=$want" "chromium-common=$want" >/dev/null
have=$(installed_version)
[ "$have" = "$want" ] || die "apt-get installed chromium ${have:-nothing}, expected $want"
stamp_set chromium "$CHROMIUM_DEB_VERSION -> $have"
log "chromium $have installed in $((SECONDS - start))s ($(chromium --version 2>/dev/null || echo '?'))"
