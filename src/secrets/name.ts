// What a secret's name and value may be: shared by the configuration, the API and `$secret`.
import * as v from 'valibot'
import { SECRET_NAME } from '../piece-sdk/define.js'
import { MIN_SECRET_LENGTH } from '../workers/redact.js'

export { SECRET_NAME }

export const SecretName = v.pipe(
  v.string(),
  v.regex(SECRET_NAME, 'must be 1-128 letters, digits, _ . - (not starting with . or -)'),
)

/** Shorter values could not be told from ordinary text when records are scrubbed of them. */
export const SecretValue = v.pipe(
  // the default message would quote what was given
  v.string('must be a string'),
  v.minLength(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`),
  v.maxLength(65_536, 'must be at most 65,536 characters'),
)
