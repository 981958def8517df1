# piecework: build the TypeScript, then ship only the compiled engine and production dependencies.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds its native module when no prebuilt binary can be fetched
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json mikro-orm.config.ts ./
COPY src ./src
COPY pieces ./pieces
# the run monitor (docs/ui.md), built into dist/ui, and the bundles of the packages every start
# loads, built into dist/vendor, by `npm run build`
COPY ui ./ui
COPY scripts/build-ui.mjs scripts/build-vendor.mjs ./scripts/
# `npm ci` runs `prepare`, which compiles into dist/
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PIECEWORK_SERVER_HOST=0.0.0.0 \
    PIECEWORK_SERVER_PORT=3000 \
    PIECEWORK_DATABASE_URL=sqlite:/app/data/piecework.db
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PIECEWORK_SERVER_PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# listening on 0.0.0.0 needs API keys: pass PIECEWORK_AUTH_API_KEYS (comma-separated, 16+ characters each)
CMD ["node", "dist/src/cli.js", "serve"]
