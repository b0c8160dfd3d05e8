# Shared set-up of scripts/up and scripts/test: dependencies, a Docker engine, the stack images.
# Every step is skipped when already done, so running it again is cheap.

widemesh_setup() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  cd "$root"

  local lock_hash
  lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat node_modules/.widemesh-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
    echo "-----> Installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund
    echo "$lock_hash" > node_modules/.widemesh-lock-hash
  else
    echo "-----> npm dependencies are up to date"
  fi

  echo "-----> Checking the Docker engine"
  bash scripts/lib/ensure-docker.sh

  echo "-----> Checking the stack images"
  bash scripts/build-stacks
}
