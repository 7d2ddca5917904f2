# syntax=docker/dockerfile:1
#
# The rotator's container image. Build:   docker build -t sendmux-rotator .
# Run one process per role (all, worker, scheduler, api) from this image. The local stand-ins
# (standins/: the Sendmux sandbox and the Secrets Manager stand-in) are NOT in it: they have an
# image of their own, `docker build --target standins -t sendmux-standins .`, which
# docker-compose.yml uses for its sandbox service.

# ---------------------------------------------------------------- build: TypeScript → dist/
FROM node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS build
WORKDIR /app

# Dependencies first, so the layer is reused while only the sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY jobs ./jobs
RUN npm run build

# The production build compiles src/ and jobs/ only: nothing there refers to standins/ at compile
# time (test/deploy/production-imports.test.ts); `rotator demo` loads the stand-ins by path and
# says so when they are missing.

# ---------------------------------------------------------------- standins-build: the stand-ins' own build
FROM build AS standins-build
COPY tsconfig.standins.json ./
COPY standins ./standins
RUN npm run build:standins

# ---------------------------------------------------------------- standins: the local stand-ins only
# LOCAL ONLY: the Sendmux sandbox (default command) and the Secrets Manager stand-in
# (node dist/standins/secrets-manager/main.js), for docker-compose.yml and local tests.
FROM node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS standins
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=standins-build /app/dist ./dist
USER node
CMD ["node", "dist/standins/sendmux/main.js"]

# ---------------------------------------------------------------- runtime: production deps only (the default target)
FROM node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS runtime
ENV NODE_ENV=production
# V8 otherwise lets the heap grow to ~4x its live size (35-40 MB for a worker) before collecting;
# a cap keeps a replica's memory flat and predictable for its container limit. Raise it for a
# scheduler over very large mailbox lists. The semi-space size must be given with it: V8 sizes the
# young generation from the heap cap, and at 160 MB it picks ~1 MB semi-spaces, so the objects of
# 16 rotations in flight are promoted and the old space is marked and compacted ~10 times a second
# (503 mark-compacts in 4,000 rotations, worker CPU 12.8 ms a rotation). Larger semi-spaces promote
# less (12 MB: ~7 ms a rotation) but cost resident memory, twice their size.
# MALLOC_ARENA_MAX=2: glibc otherwise gives each thread that allocates (V8's compiler and GC
# helpers, libuv's pool) an arena of its own, ~10 MB of resident memory the rotator does not need.
# That pays for 16 MB semi-spaces: in alternating overhead runs (`npm run bench -- --only
# overhead`) 0.710 / 0.687 at 12 MB without the arena cap, 0.765 / 0.758 at 16 MB with it; the
# memory scenario ends at ~176 MiB of its 200 MB budget (`--only memory`). 24-32 MB semi-spaces end
# it at 209-219 MiB.
ENV NODE_OPTIONS="--max-old-space-size=160 --max-semi-space-size=16"
ENV MALLOC_ARENA_MAX=2
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY --from=build /app/dist ./dist
# The example configuration is the fallback when ROTATOR_CONFIG is unset; mount your own file and
# point ROTATOR_CONFIG at it.
COPY config ./config

# Everything above stays owned by root: the service user can read the code but not change it, and
# the root filesystem can be mounted read-only (the rotator writes nothing to disk).
USER node

EXPOSE 3000

# No curl in the slim image: Node's fetch probes the liveness endpoint on this container's own
# PORT. The server must listen on 0.0.0.0 or 127.0.0.1 (HOST) for this loopback probe to reach it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||'3000')+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Exec form, no `npm start` and no `sh -c`: node itself is PID 1 and receives SIGTERM directly (the
# base image's docker-entrypoint.sh hands over to it with `exec`).
# npm does not forward signals reliably and a shell would swallow them, so the orchestrator's
# SIGTERM would never reach the CLI, which on SIGTERM stops taking jobs, lets the ones in progress
# finish (up to rotation.shutdownTimeout) and closes Redis. Keep the orchestrator's grace period
# (docker stop -t, Kubernetes terminationGracePeriodSeconds) longer than that timeout.
CMD ["node", "dist/src/cli/main.js", "start", "--role", "all"]
