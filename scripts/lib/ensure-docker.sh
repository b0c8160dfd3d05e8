#!/usr/bin/env bash
# Makes sure a Docker engine answers, plus the Debian tools the stack images and tests need
# (mmdebstrap, docker-registry, caddy as the tests' offline ACME CA) and nginx, the edge that
# serves apps (the server renders its config and runs its own nginx master). Uses an engine that
# already answers; otherwise installs Debian's docker.io and starts dockerd without a bridge:
# host networking only.
set -euo pipefail

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then sudo_cmd=(sudo -n); else
    echo "ensure-docker: run as root (or with sudo) to install and start Docker" >&2; exit 1
  fi
fi

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v caddy >/dev/null || missing+=(caddy)
if [ ${#missing[@]} -gt 0 ]; then
  echo "       installing ${missing[*]} from Debian"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Widemesh runs its own nginx (and caddy only in tests): the system services the packages
  # may have started would hold ports 80/443
  for service in nginx caddy; do
    if [[ " ${missing[*]} " == *" $service "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
      "${sudo_cmd[@]}" systemctl disable --now "$service" >/dev/null 2>&1 || true
    fi
  done
fi

if docker info >/dev/null 2>&1; then
  echo "       Docker answers ($(docker info --format '{{.ServerVersion}}'))"
  exit 0
fi

log_dir=${WIDEMESH_LOG_DIR:-/var/log/widemesh}
"${sudo_cmd[@]}" mkdir -p "$log_dir"
echo "       starting dockerd (log: $log_dir/dockerd.log)"
"${sudo_cmd[@]}" setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
  --data-root /var/lib/docker >>"$log_dir/dockerd.log" 2>&1 < /dev/null &
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    echo "       Docker answers ($(docker info --format '{{.ServerVersion}}'))"
    exit 0
  fi
  sleep 0.5
done
echo "ensure-docker: dockerd did not answer within 60 s; last lines of $log_dir/dockerd.log:" >&2
tail -n 20 "$log_dir/dockerd.log" >&2
exit 1
