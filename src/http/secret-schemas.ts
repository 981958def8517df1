// The valibot schemas of /api/v1/secrets: what a PUT takes, and what every answer gives (a secret's
// name and dates, never its value). They check requests and make the OpenAPI entries.
import * as v from 'valibot'
import { SecretName, SecretValue } from '../secrets/name.js'
import type { secretView } from './routes/secrets.js'

export const SecretNameParam = SecretName

/** The value to store; it is sealed at once and never given back. */
export const SecretBody = v.strictObject({ value: SecretValue })

const MaybeTime = v.nullable(v.pipe(v.string(), v.isoTimestamp()))

export const SecretView = v.object({
  name: v.string(),
  /** `config`: from `secrets.values`, read-only here; `api`: stored through this API. */
  source: v.picklist(['config', 'api']),
  createdAt: MaybeTime,
  updatedAt: MaybeTime,
})

export const SecretPage = v.object({ items: v.array(SecretView), nextCursor: v.nullable(v.string()) })

// the answer the route builds is the one documented
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
export const SECRET_VIEW_DOCUMENTED: Same<
  ReturnType<typeof secretView>,
  v.InferOutput<typeof SecretView>
> = true
