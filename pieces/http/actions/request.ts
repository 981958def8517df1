import * as v from 'valibot'
import {
  defineAction,
  fetchText,
  isRetryableStatus,
  PieceError,
  retryAfterMs,
  SECRET_NAME,
  TerminalError,
} from '../../../src/piece-sdk/index.js'

const Scalar = v.union([v.string(), v.number(), v.boolean()])

/** A named secret sent as `Authorization: Bearer`, as Basic (`user:password`), or in a header of its own. */
const Auth = v.pipe(
  v.strictObject({
    secret: v.pipe(v.string(), v.regex(SECRET_NAME, 'must be a secret name (letters, digits, _ . -)')),
    type: v.optional(v.picklist(['bearer', 'basic', 'header']), 'bearer'),
    header: v.optional(v.pipe(v.string(), v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a header name'))),
  }),
  v.check(
    (auth) => (auth.type === 'header') === (auth.header !== undefined),
    'header is needed with type: header, and only then',
  ),
)

function authorize(headers: Headers, auth: v.InferOutput<typeof Auth>, value: string | undefined): void {
  // the engine reads the secrets named at `secretProps` before the step runs: it is there
  if (value === undefined)
    throw new TerminalError('SECRET_NOT_FOUND', `secret '${auth.secret}' was not given`)
  if (auth.type === 'bearer') headers.set('authorization', `Bearer ${value}`)
  else if (auth.type === 'basic')
    headers.set('authorization', `Basic ${Buffer.from(value).toString('base64')}`)
  else headers.set(auth.header!, value)
}

export const request = defineAction({
  name: 'request',
  title: 'HTTP request',
  description: 'Sends one HTTP request; a status of 400 or more fails the attempt with HTTP_<status>.',
  props: v.strictObject({
    method: v.optional(v.picklist(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']), 'GET'),
    url: v.pipe(v.string(), v.url('must be an absolute http(s) URL')),
    headers: v.optional(v.record(v.string(), v.string()), {}),
    query: v.optional(v.record(v.string(), v.union([Scalar, v.array(Scalar)])), {}),
    body: v.optional(v.unknown()),
    responseType: v.optional(v.picklist(['json', 'text', 'auto']), 'auto'),
    failOnStatus: v.optional(v.boolean(), true),
    /** Send the step's idempotency key as an `Idempotency-Key` header. */
    idempotent: v.optional(v.boolean(), false),
    /** A named secret to authenticate with (`secrets.values` or PUT /api/v1/secrets/:name). */
    auth: v.optional(Auth),
  }),
  secretProps: ['auth.secret'],
  output: v.object({ status: v.number(), headers: v.record(v.string(), v.string()), body: v.unknown() }),
  run: async ({ props, signal, idempotencyKey, log, secrets }) => {
    const url = new URL(props.url)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TerminalError('INVALID_PROPS', `url must be http or https, not ${url.protocol}`)
    }
    for (const [key, value] of Object.entries(props.query)) {
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(item))
    }
    const headers = new Headers(props.headers)
    if (props.idempotent) headers.set('idempotency-key', idempotencyKey)
    if (props.auth) authorize(headers, props.auth, secrets?.[props.auth.secret])
    let body: string | undefined
    const hasBody = props.body !== undefined && props.body !== null
    if (hasBody && (props.method === 'GET' || props.method === 'HEAD')) {
      throw new TerminalError('INVALID_PROPS', `a ${props.method} request cannot have a body`)
    }
    if (hasBody) {
      body = typeof props.body === 'string' ? props.body : JSON.stringify(props.body)
      if (typeof props.body !== 'string' && !headers.has('content-type'))
        headers.set('content-type', 'application/json')
    }
    log.debug(`${props.method} ${url.origin}${url.pathname}`)
    const { response, text } = await fetchText(
      url,
      { method: props.method, headers, body, signal },
      `${props.method} ${url.origin}${url.pathname}`,
    )
    const type = response.headers.get('content-type') ?? ''
    const parseJson =
      props.responseType === 'json' || (props.responseType === 'auto' && /\bjson\b/.test(type))
    let parsed: unknown = text
    if (parseJson && text.length > 0) {
      try {
        parsed = JSON.parse(text)
      } catch {
        if (props.responseType === 'json')
          throw new PieceError('HTTP_INVALID_JSON', 'the response is not JSON')
      }
    }
    const result = { status: response.status, headers: Object.fromEntries(response.headers), body: parsed }
    if (response.status >= 400 && props.failOnStatus) {
      const retryable = isRetryableStatus(response.status)
      throw new PieceError(
        `HTTP_${response.status}`,
        `${props.method} ${url.origin}${url.pathname} answered ${response.status}`,
        {
          retryable,
          retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
          details: {
            status: response.status,
            body: typeof parsed === 'string' ? parsed.slice(0, 2000) : parsed,
          },
        },
      )
    }
    return result
  },
})
