// What the remote commands do, loaded when one of them runs (index.ts declares them).
export { connect } from './client.js'
export { followLogs } from './logs.js'
export { cancelRun, getRun, listRuns, retryRun, signalRun, startRun } from './runs.js'
export { deleteSecret, listSecrets, secretValue, setSecret } from './secrets.js'
export { deleteWorkflow, deployWorkflows, getWorkflow, listWorkflows, pauseWorkflow } from './workflows.js'
