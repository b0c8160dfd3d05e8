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

  widemesh_build_dashboard
}

# The dashboard's bundle (dashboard/dist), rebuilt when its sources or the dependencies change.
widemesh_build_dashboard() {
  local sources_hash
  sources_hash=$( (find dashboard -path dashboard/dist -prune -o -type f -print0 | sort -z | xargs -0 sha256sum;
    sha256sum package-lock.json) | sha256sum | cut -d' ' -f1)
  if [ "$(cat dashboard/dist/.sources-hash 2>/dev/null)" != "$sources_hash" ]; then
    echo "-----> Building the dashboard (vite build)"
    npm run --silent build:dashboard -- --logLevel warn
    echo "$sources_hash" > dashboard/dist/.sources-hash
  else
    echo "-----> The dashboard is up to date"
  fi
}

# Headless Chromium for the dashboard's browser tests: Debian's package, driven by playwright-core,
# so nothing is downloaded while the tests run. Only scripts/test needs it. The package lists are
# refreshed only when the package is not known (or no longer downloadable) from the current ones.
widemesh_ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then
    echo "-----> Chromium is installed ($(/usr/bin/chromium --version 2>/dev/null))"
    return
  fi
  echo "-----> Installing Chromium from Debian for the dashboard's browser tests"
  local sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo -n)
  local install=("${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
    chromium)
  if ! apt-cache show chromium >/dev/null 2>&1 || ! "${install[@]}" >/dev/null; then
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${install[@]}" >/dev/null
  fi
}
