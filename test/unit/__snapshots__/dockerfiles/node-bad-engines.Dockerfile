# detection refuses it: NODE_VERSION_UNRESOLVED
# no published Node.js version matches engines.node "7.99.x" (nearest published: 7.10.1, 8.0.0; the newest is 24.1.0); change engines.node in package.json
