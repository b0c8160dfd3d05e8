# detection refuses it: NO_BUILDPACK_DETECTED
# could not tell how to build this app. Widemesh looks for:
  - Dockerfile: a Dockerfile at the root, used as it is
  - Node.js: a package.json at the root
  - static site: an index.html at the root (or in public/ or dist/)
  - Procfile: a Procfile and nothing else to build
