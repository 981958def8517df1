import * as v from 'valibot'
import { defineAction } from '../../../src/piece-sdk/index.js'
import { callOs, Encoding, ServicePath } from '../client.js'

const result = {
  path: v.string(),
  content: v.string(),
  encoding: Encoding,
  size: v.pipe(v.number(), v.integer(), v.minValue(0)),
}

export const readFile = defineAction({
  name: 'readFile',
  title: 'Read a file',
  description:
    "Reads a file on the service's machine as UTF-8 text or base64. A file over `maxBytes` (by default the step output limit, which a bigger file could not pass anyway) fails with HTTP_413.",
  props: v.strictObject({
    path: ServicePath,
    encoding: v.optional(Encoding, 'utf8'),
    maxBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  }),
  output: v.strictObject(result),
  run: (ctx) => {
    const { props } = ctx
    return callOs(
      ctx,
      '/v1/files/read',
      {
        path: props.path,
        encoding: props.encoding,
        maxBytes: props.maxBytes ?? ctx.limits.maxOutputBytes,
      },
      v.object(result),
    )
  },
})
