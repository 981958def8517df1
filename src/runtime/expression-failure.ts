// How an expression that failed becomes a step's error: EXPRESSION, or the code of what a scope
// function threw (SECRET_NOT_FOUND from `$secret`); and values scrubbed of secrets before a run
// keeps them.
import { isEngineError } from '../errors.js'
import type { StepError } from '../model/run-state.js'
import type { SecretAccess } from '../secrets/vault.js'

/** `where` begins the message: `step 'a'`, or `step 'a' item 3`. */
export function expressionFailure(where: string, error: unknown): StepError {
  const cause = (error as { cause?: unknown }).cause
  return {
    code: isEngineError(cause) ? cause.code : 'EXPRESSION',
    message: `${where}: ${(error as Error).message}`,
  }
}

export function scrubValue<T>(secrets: SecretAccess | undefined, value: T): T {
  return secrets && !secrets.redactor.empty ? secrets.redactor.value(value) : value
}
