#!/usr/bin/env bash
# Makes sure a Docker engine answers, plus the Debian tools the stack images and tests need
# (mmdebstrap, docker-registry, caddy as the tests' offline ACME CA) and nginx, the edge that
# serves apps (the server renders its config and runs its own nginx master). Uses an engine that
# already answers, as it is; otherwise installs Debian's docker.io and starts dockerd without a
# bridge (host networking only), on a data root that can bound each instance's disk (see below).
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

answers() {
  echo "       Docker answers ($(docker info --format '{{.ServerVersion}}'), storage $(docker info --format '{{.Driver}}');" \
    "the server says at start whether it can bound each instance's disk"
}
if docker info >/dev/null 2>&1; then
  answers
  exit 0
fi

# The data root: a sparse btrfs file (WIDEMESH_DOCKER_DISK, WIDEMESH_DOCKER_DISK_GB: by default
# three quarters of the free space when it is made), whose quotas bound what each instance
# writes (WIDEMESH_INSTANCE_DISK_MB). Made only where no engine has kept data in /var/lib/docker:
# an existing engine's images and containers are never moved; that engine runs without quotas.
docker_disk=${WIDEMESH_DOCKER_DISK:-/var/lib/widemesh/docker.btrfs}
quota_root=$(dirname "$docker_disk")/docker
data_root=/var/lib/docker
storage=()
if [ -f "$docker_disk" ] || { [ "${WIDEMESH_DOCKER_DISK_GB:-}" != 0 ] && [ ! -d /var/lib/docker/image ]; }; then
  free_gb=$(df --output=avail -BG /var/lib | tail -n 1 | tr -dc 0-9)
  size_gb=${WIDEMESH_DOCKER_DISK_GB:-$((free_gb * 3 / 4 > 10 ? free_gb * 3 / 4 : 10))}
  if "${sudo_cmd[@]}" bash "$(dirname "$0")/docker-disk.sh" "$docker_disk" "$quota_root" "$size_gb"; then
    data_root=$quota_root
    storage=(--storage-driver btrfs)
    echo "       data root: $quota_root (btrfs in $docker_disk, sparse, $(du -h --apparent-size "$docker_disk" | cut -f1) at most)"
  else
    echo "       no btrfs data root here: instances' disk will not be bounded"
  fi
else
  echo "       /var/lib/docker holds an engine's data: kept, so instances' disk will not be bounded"
fi

log_dir=${WIDEMESH_LOG_DIR:-/var/log/widemesh}
"${sudo_cmd[@]}" mkdir -p "$log_dir"
echo "       starting dockerd (log: $log_dir/dockerd.log)"
"${sudo_cmd[@]}" setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
  --data-root "$data_root" "${storage[@]}" >>"$log_dir/dockerd.log" 2>&1 < /dev/null &
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    answers
    exit 0
  fi
  sleep 0.5
done
echo "ensure-docker: dockerd did not answer within 60 s; last lines of $log_dir/dockerd.log:" >&2
tail -n 20 "$log_dir/dockerd.log" >&2
exit 1
