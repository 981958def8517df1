// Figures 3 and 4 on one server per database: the load, then the one-at-a-time latency (the
// sequential requests follow the load, so the engine is warm but idle when they run).
import { runIfMain } from './lib/harness.mjs'
import { webhookBench } from './lib/webhook-server.mjs'
import { measureLatency } from './webhook-latency.mjs'
import { measureThroughput } from './webhook-throughput.mjs'

export async function webhook(options) {
  return webhookBench(async (server, kind, db) => [
    ...(await measureThroughput(server, kind, options, db)),
    ...(await measureLatency(server, kind, options)),
  ])
}

await runIfMain(import.meta.url, webhook)
