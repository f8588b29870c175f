#!/usr/bin/env bash
# Docker engine: use the one that answers; otherwise, as root on Debian, install docker.io and start
# dockerd without the default bridge or iptables rules (the lab runs in host network mode on 127.0.0.1).
source "$(dirname "$0")/lib.sh"

engine_answers() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

if command -v docker >/dev/null && engine_answers; then
  log "docker engine $(docker info --format '{{.ServerVersion}}') answers"
  exit 0
fi

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
  die "no Docker engine answers (docker info failed) and posstorm installs one only as root on Debian.
  Install and start Docker Engine (https://docs.docker.com/engine/install/), make 'docker info' work for
  this user, or set DOCKER_HOST to a running engine; then run setup again."
fi

if ! command -v dockerd >/dev/null; then
  log "installing Debian's $DOCKER_DEB_PACKAGE"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$DOCKER_DEB_PACKAGE" containerd runc >/dev/null
fi
engine_version=$(dockerd --version | sed -E 's/^Docker version ([^,+]+).*/\1/')
case "$engine_version" in
  "$DOCKER_DEB_SERIES".*) ;;
  *) log "warning: dockerd $engine_version is not the $DOCKER_DEB_SERIES series this project is tested with" ;;
esac

# A dockerd killed with its session leaves a pid file behind that stops the next start.
pidfile=/var/run/docker.pid
if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then rm -f "$pidfile"; fi

mkdir -p "$POSSTORM_TOOLS"
enginelog="$POSSTORM_TOOLS/dockerd.log"
log "starting dockerd $engine_version (--bridge=none --iptables=false), log in $enginelog"
setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false >>"$enginelog" 2>&1 </dev/null &
for _ in $(seq 1 60); do
  if engine_answers; then
    log "docker engine $(docker info --format '{{.ServerVersion}}') answers"
    exit 0
  fi
  sleep 0.5
done
tail -n 20 "$enginelog" >&2 || true
die "dockerd did not answer within 30s (log above, full log in $enginelog)"
