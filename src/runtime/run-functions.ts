// The functions a run's `{{ }}` expressions get besides JSONata's own: `$signalUrl(name)`, the
// signed link that sends this run that signal (made by the HTTP layer's signer, see serve).
import type { ExpressionFunctions } from '../definition/template.js'
import { SIGNAL_NAME } from '../piece-sdk/define.js'

export type SignalUrlMaker = (runId: string, name: string) => string

export function runFunctions(runId: string, signalUrl: SignalUrlMaker | undefined): ExpressionFunctions {
  return {
    signalUrl: (name: unknown) => {
      if (typeof name !== 'string' || !SIGNAL_NAME.test(name))
        throw new Error(`$signalUrl: ${JSON.stringify(name)} is not a signal name (letters, digits, _ . -)`)
      if (!signalUrl) throw new Error('$signalUrl: signal links need server.signingKey in the configuration')
      return signalUrl(runId, name)
    },
  }
}
