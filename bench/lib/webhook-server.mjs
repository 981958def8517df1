// The server of figures 3 and 4: `piecework serve` on a fresh database of each kind, serving the
// webhook chain on /hooks/bench.
import { benchDatabases, withDatabase } from './db.mjs'
import { closeAgent } from './http.mjs'
import { Server } from './server.mjs'
import { webhookChain } from './workflows.mjs'

/** Runs `measure(server, kind, db)` on a webhook server per database; concatenates the rows. */
export async function webhookBench(measure) {
  const rows = []
  for (const kind of await benchDatabases()) {
    rows.push(
      ...(await withDatabase(kind, async (db) => {
        const server = new Server({
          databaseUrl: db.url,
          workflows: [webhookChain()],
          name: `webhook-${kind}`,
        })
        try {
          await server.start()
          return await measure(server, kind, db)
        } catch (error) {
          error.message += `\n--- server output ---\n${server.tail()}`
          throw error
        } finally {
          await server.close()
        }
      })),
    )
  }
  closeAgent()
  if (!(await benchDatabases()).includes('postgres')) {
    rows.push({
      figure: 'webhook figures on PostgreSQL',
      value: null,
      unit: '',
      target: null,
      skipped: 'PostgreSQL does not answer',
    })
  }
  return rows
}
