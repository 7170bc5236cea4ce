# syntax=docker/dockerfile:1
# grasp-relay container image: the README's steps (npm ci → build) in a full Debian Node 24 image
# that can compile the native modules (lmdb, bcrypto, msgpackr-extract), then only the runtime
# files on node:24-trixie-slim as a non-root user. Data lives in the /data volume. Debian 13
# (trixie) has glibc 2.41, so the uWebSockets.js v20.57.0 build (@btc-vision/uwebsockets.js,
# glibc ≥ 2.38) loads and server.transport = "auto" runs uWS; see docs/transports.md.

FROM node:24-trixie AS build
WORKDIR /src
# npm runs dependency install scripts (native builds) by default; package.json's "allowScripts"
# lists the ones needed for npm versions that ask.
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY config ./config
COPY src ./src
COPY test ./test
COPY bench ./bench
# npm ci installs and compiles TypeScript (the "prepare" script), exactly as `npm install` does
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf dist/test dist/bench

FROM node:24-trixie-slim
ENV NODE_ENV=production \
    GRASP_RELAY_SERVER_HOST=0.0.0.0 \
    GRASP_RELAY_SERVER_PORT=7777 \
    GRASP_RELAY_STORE_DATA_DIR=/data
WORKDIR /app
# git (2.39+) for the git half (git.enabled, on by default); the slim image has none
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build --chown=root:root /src/package.json /src/package-lock.json ./
COPY --from=build --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --from=build --chown=root:root /src/bin ./bin
COPY --from=build --chown=root:root /src/config ./config
# git (Debian's package, 2.39+) serves the hosted repositories; nothing else is added
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 7777
# NIP-11 over HTTP on the listen port (no curl in the slim image: node's fetch); a relay still
# starting answers 503 (Retry-After), which fails the check
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.GRASP_RELAY_SERVER_PORT||7777)+'/',{headers:{accept:'application/nostr+json'},signal:AbortSignal.timeout(4000)}).then(r=>r.ok?r.json():null).then(d=>process.exit(d&&d.name!==undefined?0:1),()=>process.exit(1))"]
# Override the configuration by mounting a file over /app/config/grasp-relay.toml (or another
# path with --config); GRASP_RELAY_<SECTION>_<KEY> environment variables override the file.
ENTRYPOINT ["node", "bin/grasp-relay.js"]
CMD ["start", "--config", "/app/config/grasp-relay.toml"]
