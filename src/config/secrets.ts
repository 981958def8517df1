// The `secrets` section of the configuration: named values (usually `${VAR}` from the environment)
// and the keys that seal the secrets stored through the API (see docs/configuration.md, secrets).
import * as v from 'valibot'
import { SecretName, SecretValue } from '../secrets/name.js'

/** 64 hex digits or base64 of 32 bytes; the cipher reads it (src/secrets/cipher.ts). */
const Key = v.pipe(
  v.string(),
  v.regex(
    /^\s*(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)\s*$/,
    'must be a 32-byte key, as 64 hex digits or base64 (openssl rand -base64 32)',
  ),
)

export const SecretsSchema = v.optional(
  v.strictObject({
    /** Seals secrets stored through the API (AES-256-GCM); without it, none can be stored. */
    key: v.optional(Key),
    /** Keys that sealed stored secrets before `key`: those are sealed again under `key` at start. */
    previousKeys: v.optional(v.array(Key), []),
    /** Named values, read-only through the API. */
    values: v.optional(v.record(SecretName, SecretValue), {}),
  }),
  {},
)
