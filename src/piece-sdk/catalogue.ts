// The piece catalogue: every loaded piece with the JSON Schema of each action's and trigger's props.
import { toJsonSchema } from '@valibot/to-json-schema'
import type { GenericSchema } from 'valibot'
import { actionHandles } from './define.js'
import type { PieceRegistry } from './registry.js'

export function jsonSchemaOf(schema: GenericSchema): unknown {
  return toJsonSchema(schema, { errorMode: 'ignore' })
}

export function pieceCatalogue(registry: PieceRegistry) {
  return registry.list().map((piece) => ({
    name: piece.name,
    version: piece.version,
    title: piece.title ?? piece.name,
    description: piece.description ?? null,
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
