# detection refuses it: NODE_VERSION_UNRESOLVED
# no published Node.js version matches engines.node "4.0.0" (nearest published: 4.9.1; the newest is 24.1.0); change engines.node in package.json
