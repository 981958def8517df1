// The run state lives in the shared model (the store turns it into rows): the runtime's name for it.
export * from '../model/run-state.js'
