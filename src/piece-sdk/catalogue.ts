// The piece catalogue: every loaded piece with the JSON Schema of each action's and trigger's props.
import { toJsonSchema } from '@valibot/to-json-schema'
import type { GenericSchema } from 'valibot'
import { credentialsKey } from './credentials.js'
import { actionHandles, authFields, type Credentials, missingFields, type PieceAuth } from './define.js'
import type { PieceRegistry } from './registry.js'

export function jsonSchemaOf(schema: GenericSchema): unknown {
  return toJsonSchema(schema, { errorMode: 'ignore' })
}

/**
 * What a piece needs to be configured, never the values: `configured` says whether every required
 * field has one. `presentFields` marks per piece which fields are set (the engine knows the config;
 * the generated reference passes nothing).
 */
function authEntry(name: string, auth: PieceAuth, present: Credentials | undefined) {
  return {
    type: auth.type,
    required: auth.required !== false,
    baseUrl: auth.baseUrl ?? null,
    description: auth.description ?? null,
    configKey: credentialsKey(name),
    fields: authFields(auth),
    ...(present ? { configured: missingFields(auth, present).length === 0 } : {}),
  }
}

export function pieceCatalogue(registry: PieceRegistry, presentFields?: (piece: string) => Credentials) {
  return registry.list().map((piece) => ({
    name: piece.name,
    version: piece.version,
    title: piece.title ?? piece.name,
    description: piece.description ?? null,
    source: registry.origin(piece.name) ?? 'builtin',
    auth: piece.auth ? authEntry(piece.name, piece.auth, presentFields?.(piece.name)) : null,
    actions: piece.actions.map((action) => ({
      name: action.name,
      uses: `${piece.name}.${action.name}`,
      title: action.title ?? action.name,
      description: action.description ?? null,
      props: jsonSchemaOf(action.props),
      output: action.output ? jsonSchemaOf(action.output) : null,
      handles: typeof action.handles === 'function' ? null : actionHandles(action, {}),
    })),
    triggers: (piece.triggers ?? []).map((trigger) => ({
      name: trigger.name,
      kind: trigger.kind,
      title: trigger.title ?? trigger.name,
      description: trigger.description ?? null,
      props: jsonSchemaOf(trigger.props),
    })),
  }))
}
