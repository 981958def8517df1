import * as v from 'valibot'
import { defineAction } from '../../../src/piece-sdk/index.js'
import { callOs, ServicePath } from '../client.js'

const entry = {
  name: v.string(),
  path: v.string(),
  type: v.picklist(['file', 'directory', 'symlink', 'other']),
  size: v.pipe(v.number(), v.integer(), v.minValue(0)),
  modifiedAt: v.string(),
}

const Answer = v.object({
  path: v.string(),
  entries: v.array(v.object(entry)),
  truncated: v.boolean(),
})

export const listFolder = defineAction({
  name: 'listFolder',
  title: 'List a folder',
  description:
    "Lists a folder on the service's machine, optionally with its sub-folders, keeping the entries whose name matches `pattern` (`*`, `?`, `[abc]`). With `limit`, `truncated` says whether entries were left out.",
  props: v.strictObject({
    path: ServicePath,
    recursive: v.optional(v.boolean(), false),
    pattern: v.optional(
      v.pipe(
        v.string(),
        v.minLength(1, 'must not be empty'),
        v.description('a glob matched against each entry name, e.g. *.log'),
      ),
    ),
    limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  }),
  output: v.strictObject({
    path: v.string(),
    entries: v.array(v.strictObject(entry)),
    truncated: v.boolean(),
  }),
  run: (ctx) => {
    const { props } = ctx
    return callOs(
      ctx,
      '/v1/files/list',
      { path: props.path, recursive: props.recursive, pattern: props.pattern, limit: props.limit },
      Answer,
    )
  },
})
