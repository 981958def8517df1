// One call to the OS Integration service (contract: docs/os-integration.md) with the configured base
// URL and key, its answer checked before a step delivers it.
import * as v from 'valibot'
import { type ActionContext, callConfiguredService, TerminalError } from '../../src/piece-sdk/index.js'

const SERVICE = 'OS Integration'

/**
 * POSTs `body` to `path` and answers the response body as `answer` reads it (fields the piece does
 * not know are dropped). A body of the wrong shape fails the step for good: a retry would repeat
 * the request, and a service that breaks the contract once breaks it again.
 */
export async function callOs<T>(
  ctx: ActionContext<unknown>,
  path: string,
  body: Record<string, unknown>,
  answer: v.GenericSchema<unknown, T>,
): Promise<T> {
  const response = await callConfiguredService(ctx, { service: SERVICE, path, body })
  const parsed = v.safeParse(answer, response.body)
  if (!parsed.success) {
    const problems = parsed.issues.map((issue) => `${v.getDotPath(issue) ?? '$'}: ${issue.message}`)
    throw new TerminalError(
      'OS_INVALID_RESPONSE',
      `${SERVICE} (POST ${path}) answered a body that breaks the contract: ${problems.join('; ')}`,
      { details: { status: response.status, problems } },
    )
  }
  return parsed.output
}

/** A path on the service's machine: absolute, or relative to the service's working folder. */
export const ServicePath = v.pipe(v.string(), v.minLength(1, 'must not be empty'))

export const Encoding = v.picklist(['utf8', 'base64'])
