// Runs user code (`code.run`) in a fresh SES Compartment whose only globals are hardened, explicitly
// granted values. Only usable inside a locked-down worker.
import type { StepLogger } from '../piece-sdk/define.js'

export interface SandboxScope {
  input: unknown
  inputs: Record<string, unknown>
  trigger: unknown
  steps: Record<string, { output: unknown }>
  run: unknown
  attempt: number
  /** Under `forEach` only: the item and its position. */
  item?: unknown
  index?: number
}

export class UserCodeError extends Error {
  override name = 'UserCodeError'
  /** Code that does not compile fails the same way on every attempt. */
  constructor(
    message: string,
    readonly compiles = true,
    /** The code asked for more memory than the sandbox gives (an allocation failed). */
    readonly outOfMemory = false,
  ) {
    super(message)
  }
}

/** What V8 throws when an allocation is refused; the step ran out of memory, not into a bug. */
const ALLOCATION_FAILED =
  /allocation failed|Invalid (typed )?array length|Invalid string length|Array buffer/i

function formatArgs(args: unknown[]): { msg: string; data?: unknown } {
  const msg = args
    .map((a) => {
      if (typeof a === 'string') return a
      if (a instanceof Error) return `${a.name}: ${a.message}`
      try {
        return JSON.stringify(a) ?? String(a)
      } catch {
        return String(a)
      }
    })
    .join(' ')
  return { msg }
}

/** A console whose lines go to the step it is bound to; bound once, right before the step runs. */
function sandboxConsole(target: () => StepLogger | undefined) {
  const line =
    (level: keyof StepLogger) =>
    (...args: unknown[]) =>
      target()?.[level](formatArgs(args).msg)
  return {
    log: line('info'),
    info: line('info'),
    debug: line('debug'),
    warn: line('warn'),
    error: line('error'),
  }
}

let sharedMath: object | undefined

/**
 * `Math` with a working `random` (compartments get a `Math` whose `random` throws). Built and
 * hardened once per worker, then given to every step: frozen through, it holds nothing that one
 * step could change for the next, like the shared `Date`.
 */
function sandboxMath(): object {
  if (sharedMath) return sharedMath
  const math: Record<string, unknown> = {}
  for (const key of Object.getOwnPropertyNames(Math))
    math[key] = (Math as unknown as Record<string, unknown>)[key]
  sharedMath = harden(math)
  return sharedMath
}

interface PreparedCompartment {
  compartment: Compartment
  /** Points the compartment's console at its step's log. */
  bind(log: StepLogger): void
}

/**
 * A fresh Compartment built ahead, while the worker is idle: making one costs about as much as a
 * trivial step itself (the global object's properties, the evaluator). Each is taken by exactly one
 * step and never handed out again; the step adds its own scope to its global object.
 */
let prepared: PreparedCompartment | undefined

function prepare(): PreparedCompartment {
  let log: StepLogger | undefined
  const globals = harden({ console: sandboxConsole(() => log), Date, Math: sandboxMath() })
  // biome-ignore lint/suspicious/noExplicitAny: the Compartment typing of `globals` is wrong (see stack notes)
  const compartment = new Compartment({ __options__: true, globals } as any)
  // the first evaluation builds the compartment's evaluator: done here, off the step's path
  compartment.evaluate('undefined')
  return {
    compartment,
    bind: (stepLog) => {
      log = stepLog
    },
  }
}

/**
 * Builds the next step's Compartment now. Only once a worker has run user code: a worker that never
 * does (most of the engine's own) starts no sooner or later for it.
 */
function prepareCompartment(): void {
  prepared ??= prepare()
}

/** Evaluates `code` as the body of an async function and returns what it returns. */
export async function runUserCode(code: string, scope: SandboxScope, log: StepLogger): Promise<unknown> {
  const { compartment, bind } = prepared ?? prepare()
  prepared = undefined
  // the next step's one is built once this step's reply is on its way (this task has ended)
  setImmediate(prepareCompartment)
  bind(log)
  // its scope is added before any of its code runs; the values are hardened as the globals were
  Object.assign(compartment.globalThis, harden({ ...scope }))
  let fn: () => Promise<unknown>
  try {
    fn = compartment.evaluate(`(async function () {\n${code}\n})`) as () => Promise<unknown>
  } catch (error) {
    throw new UserCodeError(`the code does not compile: ${describe(error)}`, false)
  }
  try {
    return await fn()
  } catch (error) {
    const message = describe(error)
    throw new UserCodeError(message, true, isRangeError(error) && ALLOCATION_FAILED.test(message))
  }
}

function isRangeError(error: unknown): boolean {
  try {
    return error instanceof RangeError
  } catch {
    return false
  }
}

/** The message of whatever user code threw; a hostile throw (a getter that throws) cannot escape. */
function describe(error: unknown): string {
  try {
    const text =
      typeof error === 'object' && error !== null && 'message' in error
        ? String(error.message)
        : String(error)
    // a huge message is cut here, before anything copies it
    return text.length > 16 * 1024 ? text.slice(0, 16 * 1024) : text
  } catch {
    return 'the code threw a value that cannot be described'
  }
}
