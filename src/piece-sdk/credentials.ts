// Where a piece's credentials live in the engine's config: `services.aiOrchestrator` and
// `services.osIntegration` for the ALT_LAS pieces, `credentials.<piece name>` for every piece.
import type { Credentials } from './define.js'

/** The ALT_LAS pieces read the `services` section; any piece may also be named under `credentials`. */
export const SERVICE_PIECES = {
  'ai-orchestrator': 'aiOrchestrator',
  'os-integration': 'osIntegration',
} as const

/** The config key a piece's values are read from, for messages and the piece catalogue. */
export function credentialsKey(piece: string): string {
  const service = SERVICE_PIECES[piece as keyof typeof SERVICE_PIECES]
  return service ? `services.${service}` : `credentials.${piece}`
}

/** Per piece name, its configured values: the service entries, overlaid by `credentials.<piece>`. */
export function credentialsFromConfig(config: {
  services: Record<string, Credentials>
  credentials: Record<string, Credentials>
}): Record<string, Credentials> {
  const result: Record<string, Credentials> = {}
  for (const [piece, service] of Object.entries(SERVICE_PIECES)) {
    const values = config.services[service]
    if (values && Object.keys(values).length > 0) result[piece] = { ...values }
  }
  for (const [piece, values] of Object.entries(config.credentials))
    result[piece] = { ...result[piece], ...values }
  return result
}
