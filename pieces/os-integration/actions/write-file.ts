import * as v from 'valibot'
import { defineAction } from '../../../src/piece-sdk/index.js'
import { callOs, Encoding, ServicePath } from '../client.js'

const result = {
  path: v.string(),
  size: v.pipe(v.number(), v.integer(), v.minValue(0)),
}

export const writeFile = defineAction({
  name: 'writeFile',
  title: 'Write a file',
  description:
    "Writes text or base64 content to a file on the service's machine: `overwrite` replaces it, `append` adds to its end, `create` fails with HTTP_409 when the file exists. Delivers the file's size after the write.",
  props: v.strictObject({
    path: ServicePath,
    content: v.string(),
    encoding: v.optional(Encoding, 'utf8'),
    mode: v.optional(v.picklist(['overwrite', 'append', 'create']), 'overwrite'),
    createDirs: v.optional(
      v.pipe(v.boolean(), v.description('create missing parent folders instead of failing with HTTP_404')),
      false,
    ),
  }),
  output: v.strictObject(result),
  run: (ctx) => {
    const { props } = ctx
    ctx.log.debug(`writing ${props.content.length} character(s) to ${props.path} (${props.mode})`)
    return callOs(
      ctx,
      '/v1/files/write',
      {
        path: props.path,
        content: props.content,
        encoding: props.encoding,
        mode: props.mode,
        createDirs: props.createDirs,
      },
      v.object(result),
    )
  },
})
