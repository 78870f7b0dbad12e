# One image for every role: the command picks `all` (default), `bot` or `worker`.
#   docker build -t nemo-video-bot .
#   docker run --env-file .env nemo-video-bot node dist/src/main.js worker

# Production dependencies only, copied into the runtime stage.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# Compiles src/ and adapters/ to dist/ (dist/package.json comes along: src/version.ts reads it).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY adapters ./adapters
RUN npm run build

FROM node:24-bookworm-slim AS runtime
# tini is PID 1: it forwards SIGTERM to node and reaps zombies. ffmpeg converts voice notes
# (Ogg/Opus, which NemoVideo refuses) to .m4a before upload.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ffmpeg \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
# The code stays root-owned (read-only for the app); only the state directories are writable.
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p .data videos && chown node:node .data videos
USER node
EXPOSE 8080
# Liveness of the health server (HTTP_PORT, default 8080); no curl in the image, node's fetch does it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8080) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# The start script of package.json: a 1 MiB young generation, so a relayed video's chunks are
# collected as they go instead of piling up to about the file's size (bench: relay memory).
CMD ["node", "--max-semi-space-size=1", "dist/src/main.js", "all"]
