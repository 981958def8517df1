// The functions a run's `{{ }}` expressions get besides JSONata's own: `$signalUrl(name)`, the
// signed link that sends this run that signal (made by the HTTP layer's signer, see serve), and
// `$secret(name)`, a named secret's value, read when the step is dispatched and never stored.
import type { ExpressionFunctions } from '../definition/template.js'
import { SIGNAL_NAME } from '../piece-sdk/define.js'
import { SECRET_NAME } from '../secrets/name.js'
import { type SecretAccess, SecretNotFoundError } from '../secrets/vault.js'

export type SignalUrlMaker = (runId: string, name: string) => string

export function runFunctions(
  runId: string,
  signalUrl: SignalUrlMaker | undefined,
  secrets?: SecretAccess,
): ExpressionFunctions {
  return {
    signalUrl: (name: unknown) => {
      if (typeof name !== 'string' || !SIGNAL_NAME.test(name))
        throw new Error(`$signalUrl: ${JSON.stringify(name)} is not a signal name (letters, digits, _ . -)`)
      if (!signalUrl) throw new Error('$signalUrl: signal links need server.signingKey in the configuration')
      return signalUrl(runId, name)
    },
    secret: (name: unknown) => {
      if (typeof name !== 'string' || !SECRET_NAME.test(name))
        throw new Error(`$secret: ${JSON.stringify(name)} is not a secret name (letters, digits, _ . -)`)
      if (!secrets) throw new SecretNotFoundError(name)
      return secrets.resolve(name)
    },
  }
}
