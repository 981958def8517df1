import * as v from 'valibot'
import { defineAction, TerminalError } from '../../../src/piece-sdk/index.js'
import { callOs, ServicePath } from '../client.js'

const Format = v.picklist(['png', 'jpeg'])

const result = {
  format: Format,
  width: v.pipe(v.number(), v.integer(), v.minValue(1)),
  height: v.pipe(v.number(), v.integer(), v.minValue(1)),
  data: v.optional(v.string()),
  path: v.optional(v.string()),
}

const Offset = v.pipe(v.number(), v.integer(), v.minValue(0))
const Extent = v.pipe(v.number(), v.integer(), v.minValue(1))

export const screenshot = defineAction({
  name: 'screenshot',
  title: 'Take a screenshot',
  description:
    "Captures a display of the service's machine, or a region of it, as PNG or JPEG. The image comes back base64-encoded in `data`, or, with `saveTo`, is written to that path on the service's machine and only its `path` comes back (the way for big screens: a step's output has a size limit).",
  props: v.strictObject({
    display: v.optional(
      v.pipe(
        v.string(),
        v.minLength(1, 'must not be empty'),
        v.description('the display as the service names it; the primary display when left out'),
      ),
    ),
    format: v.optional(Format, 'png'),
    region: v.optional(v.strictObject({ x: Offset, y: Offset, width: Extent, height: Extent })),
    saveTo: v.optional(ServicePath),
  }),
  output: v.strictObject(result),
  run: async (ctx) => {
    const { props } = ctx
    const answer = await callOs(
      ctx,
      '/v1/screenshots',
      { display: props.display, format: props.format, region: props.region, saveTo: props.saveTo },
      v.object(result),
    )
    const delivered = props.saveTo === undefined ? answer.data : answer.path
    if (delivered === undefined) {
      throw new TerminalError(
        'OS_INVALID_RESPONSE',
        `OS Integration (POST /v1/screenshots) answered without ${props.saveTo === undefined ? 'data' : 'path'}`,
      )
    }
    return answer
  },
})
