// GET and POST /signals/:token — the signed links of `$signalUrl(name)`, for people and systems
// without an API key. GET only answers a page whose button posts (a mail scanner that follows the
// link delivers nothing); POST delivers its JSON body, or its form fields, as the signal's data.
import { Hono } from 'hono'
import { checkValueLimits } from '../../definition/value-limits.js'
import { RUN_ENDED } from '../../model/status.js'
import type { Engine } from '../../runtime/engine.js'
import { readBody } from '../body.js'
import { HttpError } from '../errors.js'
import type { SignalLinks, SignalTarget } from '../signal-links.js'

const FORM = 'application/x-www-form-urlencoded'

/** The link's token in the address: no caching, no referrer, nothing the page may load or run. */
const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}
button{font:inherit;padding:.5rem 1.5rem;cursor:pointer}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`
}

function confirmPage(target: SignalTarget): string {
  return page(
    `Send “${target.name}”`,
    `<p>This sends the signal <strong>${escapeHtml(target.name)}</strong> to run <code>${escapeHtml(target.runId)}</code>.</p>
<form method="post"><button type="submit">Send ${escapeHtml(target.name)}</button></form>`,
  )
}

/** A form's fields as an object of strings (a repeated name keeps its last value). */
function formFields(text: string): Record<string, string> {
  const fields = Object.fromEntries(new URLSearchParams(text))
  // within the limits a JSON body is held to (a NUL character, for one)
  checkValueLimits(fields, 'the form')
  return fields
}

export function signalLinkRoutes(engine: Engine, links: SignalLinks | undefined): Hono {
  const app = new Hono()
  const targetOf = (token: string): SignalTarget => {
    const target = links?.read(token)
    if (!target)
      throw new HttpError(
        'FORBIDDEN',
        links ? 'this signal link is not valid' : 'signal links are not enabled here (server.signingKey)',
      )
    return target
  }

  app.get('/:token', async (c) => {
    const target = targetOf(c.req.param('token'))
    const run = await engine.getRun(target.runId)
    if (RUN_ENDED.has(run.status))
      throw new HttpError('CONFLICT', `run ${run.id} has ${run.status}: it takes no more signals`)
    return c.html(confirmPage(target), 200, PAGE_HEADERS)
  })

  app.post('/:token', async (c) => {
    const target = targetOf(c.req.param('token'))
    const isForm = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() === FORM
    const data = isForm ? formFields(await c.req.text()) : await readBody(c)
    const taken = await engine.signal(target.runId, target.name, data ?? null)
    if (!isForm) return c.json(taken, 202)
    const thanks = `<p>The signal <strong>${escapeHtml(target.name)}</strong> was sent. You may close this page.</p>`
    return c.html(page('Thank you', thanks), 202, PAGE_HEADERS)
  })

  return app
}
