# detection refuses it: NO_BUILDPACK_DETECTED
# could not tell how to build this app. Widemesh looks for:
  - Dockerfile: a Dockerfile at the root, used as it is
  - Node.js: a package.json at the root
  - Python: a requirements.txt, pyproject.toml, Pipfile or setup.py (or a *.py file with a Procfile)
  - PHP: a composer.json or an index.php at the root
  - Go: a go.mod at the root
  - static site: an index.html at the root (or in public/ or dist/)
  - Procfile: a Procfile and nothing else to build
