# built with the app's own Dockerfile
