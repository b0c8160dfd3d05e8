#!/usr/bin/env bash
# Usage: docker-disk.sh FILE MOUNT_DIR SIZE_GB
# A file system for Docker's data root that can bound each container's disk: btrfs (qgroups),
# in FILE, loop-mounted at MOUNT_DIR. FILE is sparse: it takes disk only as Docker writes.
# Made once (SIZE_GB is read only then); later runs only mount it again (after a reboot).
# Why btrfs: Docker's size quota needs overlay2 on xfs with project quotas, or btrfs, zfs or
# devicemapper; this project's machines run a kernel without XFS quota support
# ("XFS: quota support not available in this kernel"), and btrfs quotas work there.
# Exits non-zero, saying why, when the kernel or the tools cannot do it.
set -euo pipefail
file=$1 mount_dir=$2 size_gb=$3

if mountpoint -q "$mount_dir"; then exit 0; fi
if ! grep -qw btrfs /proc/filesystems && ! modprobe btrfs 2>/dev/null; then
  echo "docker-disk: this kernel has no btrfs" >&2
  exit 1
fi
if ! command -v mkfs.btrfs >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends btrfs-progs >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends btrfs-progs >/dev/null; }
fi
mkdir -p "$(dirname "$file")" "$mount_dir"
if [ -f "$file" ]; then
  mount -o loop "$file" "$mount_dir"
  exit 0
fi
truncate -s "${size_gb}G" "$file.new"
mkfs.btrfs -q "$file.new" >/dev/null
mount -o loop "$file.new" "$mount_dir"
# quotas on from the start: enabled later (Docker does it at the first sized container), the
# accounting went inconsistent here once images had been built, and no limit held
btrfs quota enable "$mount_dir"
mv "$file.new" "$file"
