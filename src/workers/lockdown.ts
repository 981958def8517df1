// Hardens the worker's realm. Imported first by the worker entry and by nothing else: the main
// thread is never locked down. Options are explicit so that LOCKDOWN_* variables change nothing.
import 'ses'

lockdown({
  errorTaming: 'safe',
  evalTaming: 'safe-eval',
  consoleTaming: 'unsafe',
  overrideTaming: 'moderate',
  stackFiltering: 'concise',
  domainTaming: 'unsafe',
  localeTaming: 'unsafe',
  regExpTaming: 'safe',
  reporting: 'none',
  errorTrapping: 'none',
  unhandledRejectionTrapping: 'none',
})
