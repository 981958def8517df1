// What a piece author imports: the define* functions, handle and wait results, and the error types.

export { parseDuration } from '../definition/duration.js'
export { PieceError, TerminalError } from '../errors.js'
export { credentialsKey } from './credentials.js'
export * from './define.js'
export { durationProp } from './props.js'
export {
  callConfiguredService,
  callService,
  fetchText,
  isRetryableStatus,
  retryAfterMs,
  type ServiceRequest,
  type ServiceResponse,
  serviceUrl,
} from './service.js'
