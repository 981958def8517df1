// The built-in triggers: how a run starts. The engine itself delivers their output.
import { Cron } from 'croner'
import * as v from 'valibot'
import { definePiece, defineTrigger } from '../../src/piece-sdk/index.js'

function cronParses(cron: string): boolean {
  try {
    new Cron(cron, { paused: true })
    return true
  } catch {
    return false
  }
}

function timeZoneKnown(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

export const manual = defineTrigger({
  name: 'manual',
  kind: 'manual',
  title: 'Manual',
  description: 'Started by an API call or `piecework run`; its output is the input given with the run.',
  props: v.strictObject({}),
})

export const webhook = defineTrigger({
  name: 'webhook',
  kind: 'webhook',
  title: 'Webhook',
  description: 'Started by a request to /hooks/<path>; its output is { method, path, headers, query, body }.',
  props: v.strictObject({
    path: v.pipe(
      v.string(),
      v.regex(/^[A-Za-z0-9][A-Za-z0-9/_-]*$/, 'must be a path like orders or team/orders'),
    ),
    method: v.optional(v.picklist(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'ANY']), 'POST'),
    respond: v.optional(v.picklist(['immediately', 'onComplete']), 'immediately'),
    secret: v.optional(v.pipe(v.string(), v.minLength(1))),
  }),
})

export const schedule = defineTrigger({
  name: 'schedule',
  kind: 'schedule',
  title: 'Schedule',
  description: 'Started at each due time of a cron expression; its output is { scheduledAt, firedAt }.',
  props: v.strictObject({
    cron: v.pipe(
      v.string(),
      v.check(
        (cron) => cron.trim().split(/\s+/).length >= 5 && cron.trim().split(/\s+/).length <= 6,
        'must have 5 or 6 fields',
      ),
      v.check(cronParses, 'is not a valid cron expression'),
    ),
    timezone: v.optional(v.pipe(v.string(), v.check(timeZoneKnown, 'is not an IANA time zone')), 'UTC'),
    overlap: v.optional(v.picklist(['skip', 'allow']), 'skip'),
  }),
})

export default definePiece({
  name: 'trigger',
  version: '1.0.0',
  trusted: true,
  title: 'Triggers',
  actions: [],
  triggers: [manual, webhook, schedule],
})
