# detection refuses it: NODE_VERSION_UNRESOLVED
# no published Node.js version matches engines.node ">=99" (nearest published: 24.1.0; the newest is 24.1.0); change engines.node in package.json
