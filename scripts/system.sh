#!/usr/bin/env bash
# The Debian programs the harness runs (harness/shared/programs.ts lists them with what runs them): nftables
# (`nft`, kernel packet loss and SYN drops) and iproute2 (`ss`, connection kills), each at the version pinned in
# SYSTEM_DEBS (scripts/versions.env). Installed as root on Debian, only when missing or at another version.
# Debian serves only the current release of a package: when a pin is no longer served, the candidate is
# installed with a warning. Elsewhere this step names what is missing and goes on; `posstorm doctor` fails then.
source "$(dirname "$0")/lib.sh"

installed_version() { { dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$1" 2>/dev/null || true; } | sed -n 's/^ii *//p'; }

missing=()
for pin in $SYSTEM_DEBS; do
  name=${pin%%=*} want=${pin#*=}
  have=""
  command -v dpkg-query >/dev/null && have=$(installed_version "$name")
  if [ "$have" = "$want" ]; then continue; fi
  # A candidate installed because the pin was no longer served: keep it until the pin changes.
  if [ -n "$have" ] && stamp_ok "deb-$name" "$want -> $have"; then
    log "warning: $name $have installed, not the pinned $want (no longer served by Debian); update SYSTEM_DEBS in scripts/versions.env"
    continue
  fi
  missing+=("$name=$want${have:+ (have $have)}")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "system packages ready: $SYSTEM_DEBS"
  exit 0
fi

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ] || ! command -v apt-get >/dev/null; then
  log "warning: missing Debian packages: ${missing[*]}. As root on Debian setup installs them
  (apt-get install ${missing[*]%% *}); elsewhere install nftables and iproute2 with your package manager.
  Kernel faults (packet loss, SYN drop, connection kill) need them; posstorm doctor reports them."
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
apt-get update -qq
specs=()
for pin in $SYSTEM_DEBS; do
  name=${pin%%=*} want=${pin#*=}
  [ "$(installed_version "$name")" = "$want" ] && continue
  if ! apt-cache madison "$name" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | grep -qxF "$want"; then
    candidate=$(apt-cache policy "$name" | sed -n 's/^ *Candidate: *//p')
    [ -n "$candidate" ] && [ "$candidate" != "(none)" ] || die "Debian serves no $name package (apt-cache policy $name)"
    log "warning: $name $want is no longer served by Debian; installing the candidate $candidate (update SYSTEM_DEBS in scripts/versions.env)"
    want=$candidate
  fi
  specs+=("$name=$want")
done
log "installing Debian's ${specs[*]}"
apt-get install -y -qq --no-install-recommends --allow-downgrades "${specs[@]}" >/dev/null
for pin in $SYSTEM_DEBS; do
  name=${pin%%=*}
  have=$(installed_version "$name")
  [ -n "$have" ] || die "apt-get did not install $name"
  stamp_set "deb-$name" "${pin#*=} -> $have"
done
log "system packages installed: $(for pin in $SYSTEM_DEBS; do printf '%s=%s ' "${pin%%=*}" "$(installed_version "${pin%%=*}")"; done)"
