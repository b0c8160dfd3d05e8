# Where the stack build downloads packages from: the machine's own apt sources and npm config,
# or the WIDEMESH_APT_MIRROR / WIDEMESH_APT_SECURITY_MIRROR settings. No registry is assumed, so
# the build works the same air-gapped, behind a mirror or online. Sourced by scripts/build-stacks.

# The first URI of an enabled `deb` source that serves SUITE, from deb822 *.sources files and
# one-line sources.list / *.list files under APT_DIR (default /etc/apt). Prints nothing if none.
apt_mirror_for() {
  local suite=$1 dir=${2:-/etc/apt}
  local sources=() lists=()
  shopt -s nullglob
  sources=("$dir"/sources.list.d/*.sources)
  lists=("$dir"/sources.list "$dir"/sources.list.d/*.list)
  shopt -u nullglob
  {
    [ ${#sources[@]} -gt 0 ] && awk -v suite="$suite" -f - "${sources[@]}" <<'AWK'
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no" && enabled != "false" && serves && uri != "") print uri
        types = ""; uri = ""; serves = 0; enabled = ""
      }
      FNR == 1 { flush() }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]*#/ { next }
      tolower($1) == "types:" { types = ""; for (i = 2; i <= NF; i++) types = types " " $i; types = substr(types, 2) }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) serves = 1 }
      tolower($1) == "enabled:" { enabled = tolower($2) }
      END { flush() }
AWK
    for list in "${lists[@]}"; do
      [ -r "$list" ] || continue
      # deb [option=value ...] URI SUITE COMPONENT...
      sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$list" | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2 }'
    done
  } | awk 'NR == 1' # reads everything: no SIGPIPE for the writers
}

# Sets `mirror` and `security` (the Debian archive and its security archive) for SUITE, or fails
# naming the setting to use. WIDEMESH_APT_SECURITY_MIRROR=none builds without the security archive.
stack_apt_mirrors() {
  local suite=$1 dir=${2:-/etc/apt}
  mirror=${WIDEMESH_APT_MIRROR:-$(apt_mirror_for "$suite" "$dir")}
  if [ -z "$mirror" ]; then
    echo "build-stacks: no apt source for Debian $suite in $dir/sources.list{,.d/}; set WIDEMESH_APT_MIRROR to a Debian mirror URL" >&2
    return 1
  fi
  security=${WIDEMESH_APT_SECURITY_MIRROR:-$(apt_mirror_for "$suite-security" "$dir")}
  if [ -z "$security" ]; then
    echo "build-stacks: no apt source for $suite-security in $dir/sources.list{,.d/}; set WIDEMESH_APT_SECURITY_MIRROR to a Debian security mirror URL (or to none)" >&2
    return 1
  fi
  [ "$security" = none ] && security=""
  return 0
}

# The npm registry npm itself is configured with (npmrc, NPM_CONFIG_REGISTRY), or fails.
npm_registry() {
  local registry
  registry=$(npm config get registry 2>/dev/null || true)
  if [ -z "$registry" ] || [ "$registry" = undefined ] || [ "$registry" = null ]; then
    echo "build-stacks: npm has no registry configured; set one with \`npm config set registry URL\` (or NPM_CONFIG_REGISTRY)" >&2
    return 1
  fi
  echo "$registry"
}
