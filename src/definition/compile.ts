// From a raw definition to a compiled workflow: schema, pieces, props, expressions and graph checked
// together so that every problem is reported at once, each with its path.
import { createHash } from 'node:crypto'
import * as v from 'valibot'
import { type Problem, ValidationError } from '../errors.js'
import { type ActionDefinition, actionHandles, type TriggerDefinition } from '../piece-sdk/define.js'
import type { PieceRegistry } from '../piece-sdk/registry.js'
import { parseDuration } from './duration.js'
import { checkGraph, type Edge, parseNeed } from './graph.js'
import { issuesToProblems } from './issues.js'
import { checkLimits, DEFINITION_LIMITS, type DefinitionLimits } from './limits.js'
import { type StepDefinition, type WorkflowDefinition, WorkflowSchema } from './schema.js'
import { unknownStepReferences } from './step-references.js'
import { didYouMean } from './suggest.js'
import {
  compileTemplate,
  EXPRESSION_LIMITS,
  type ExpressionLimits,
  type ExpressionSyntaxError,
  isExpressionText,
  type Template,
} from './template.js'

export interface RetryPolicy {
  attempts: number
  backoff: 'fixed' | 'exponential'
  delayMs: number
  maxDelayMs: number | undefined
  /** `full`: each wait is drawn between 0 and the backoff (src/runtime/retry.ts). */
  jitter: 'full' | 'none'
}

export interface CompiledStep {
  id: string
  uses: string
  action: ActionDefinition
  props: Template
  needs: Edge[]
  join: 'all' | 'any'
  retry: RetryPolicy | undefined
  timeoutMs: number | undefined
  onError: 'fail' | 'continue' | 'branch'
  /** The handles the step may fire; undefined when only known at run time. */
  handles: string[] | undefined
  /** v2: the step runs its action once per item, at most `concurrency` at once. */
  forEach?: { items: Template; concurrency: number }
}

export interface CompiledWorkflow {
  id: string
  definition: WorkflowDefinition
  /** sha256 of the definition: equal definitions are the same version. */
  hash: string
  trigger: { uses: string; kind: TriggerDefinition['kind']; props: Record<string, unknown> }
  steps: CompiledStep[]
  byId: Map<string, CompiledStep>
  /** Step ids that need each step. */
  dependents: Map<string, string[]>
  /** Each step's outgoing edges by dependent: what it posts when it ends, without reading any needs. */
  outgoing: Map<string, OutEdges[]>
  output: Template | undefined
}

/** The edges from one step to one dependent: the handles of the step that the dependent needs. */
export interface OutEdges {
  to: string
  /** In the dependent's `needs` order. */
  handles: string[]
}

export interface CompileOptions {
  /** The bounds every expression of the workflow is evaluated within (the config's `expressions`). */
  expressions?: ExpressionLimits
  /** How large the workflow may be (the config's `limits`). */
  limits?: DefinitionLimits
}

export function compileWorkflow(
  raw: unknown,
  registry: PieceRegistry,
  options: CompileOptions = {},
): CompiledWorkflow {
  const limits = options.expressions ?? EXPRESSION_LIMITS
  const tooLarge = checkLimits(raw, options.limits ?? DEFINITION_LIMITS)
  if (tooLarge.length > 0) throw new ValidationError('the workflow definition is over the limits', tooLarge)
  const parsed = v.safeParse(WorkflowSchema, raw)
  if (!parsed.success) {
    const problems = [...issuesToProblems(parsed.issues, '', WorkflowSchema), ...lenientChecks(raw, registry)]
    const seen = new Set<string>()
    const unique = problems.filter(
      (p) => !seen.has(`${p.path}|${p.message}`) && seen.add(`${p.path}|${p.message}`),
    )
    throw new ValidationError('the workflow definition is invalid', unique)
  }
  const definition = parsed.output
  const problems: Problem[] = []
  const syntax: ExpressionSyntaxError[] = []

  const trigger = registry.trigger(definition.trigger.uses)
  if (!trigger) {
    problems.push({ path: 'trigger.uses', message: unknownTrigger(definition.trigger.uses, registry) })
  } else {
    problems.push(...checkStaticProps(trigger.props, definition.trigger.with, 'trigger.with'))
  }

  const steps = definition.steps.map((step, i) => compileStep(step, i, registry, limits, problems, syntax))
  for (const error of syntax) {
    problems.push({
      path: error.path,
      message: `step '${stepIdAt(definition, error.path)}': ${error.message}`,
    })
  }
  problems.push(
    ...checkGraph(
      definition.steps.map((step, i) => ({ id: step.id, needs: step.needs, handles: steps[i]?.handles })),
    ),
    ...stepReferenceProblems(definition.steps, definition.output),
  )
  const outputErrors: ExpressionSyntaxError[] = []
  const output =
    definition.output === undefined
      ? undefined
      : compileTemplate(definition.output, 'output', outputErrors, limits)
  for (const error of outputErrors)
    problems.push({ path: 'output', message: `workflow output: ${error.message}` })
  if (definition.onFailure === definition.id)
    problems.push({
      path: 'onFailure',
      message: 'must name another workflow: a failed run cannot start its own workflow',
    })

  if (problems.length > 0) throw new ValidationError(`workflow '${definition.id}' is invalid`, problems)
  const compiled = steps as CompiledStep[]
  return {
    id: definition.id,
    definition,
    hash: hashDefinition(definition),
    trigger: {
      uses: definition.trigger.uses,
      kind: trigger!.kind,
      // with the trigger's defaults applied: a piece's own trigger may default differently
      props: withDefaults(trigger!.props, definition.trigger.with),
    },
    steps: compiled,
    byId: new Map(compiled.map((s) => [s.id, s])),
    ...edgesById(compiled),
    output,
  }
}

function compileStep(
  step: StepDefinition,
  index: number,
  registry: PieceRegistry,
  limits: ExpressionLimits,
  problems: Problem[],
  syntax: ExpressionSyntaxError[],
): CompiledStep | undefined {
  const path = `steps[${index}]`
  const props = compileTemplate(step.with, `${path}.with`, syntax, limits)
  const action = registry.action(step.uses)
  if (!action) {
    problems.push({ path: `${path}.uses`, message: unknownAction(step.id, step.uses, registry) })
    return undefined
  }
  problems.push(...checkStaticProps(action.props, step.with, `${path}.with`, step.id))
  const handles = withErrorHandle(actionHandles(action, step.with), step.onError)
  const forEach =
    step.forEach === undefined
      ? undefined
      : compileForEach(step, path, actionHandles(action, step.with), limits, problems, syntax)
  return {
    id: step.id,
    uses: step.uses,
    action,
    props,
    needs: step.needs.map(parseNeed),
    join: step.join,
    retry: step.retry && {
      attempts: step.retry.attempts,
      backoff: step.retry.backoff,
      delayMs: parseDuration(step.retry.delay) ?? 1000,
      maxDelayMs: step.retry.maxDelay === undefined ? undefined : parseDuration(step.retry.maxDelay),
      jitter: step.retry.jitter ?? (step.retry.backoff === 'exponential' ? 'full' : 'none'),
    },
    timeoutMs: step.timeout === undefined ? undefined : parseDuration(step.timeout),
    onError: step.onError,
    handles,
    forEach,
  }
}

/** The default of `forEach.concurrency`: items of one step running at once. */
export const FOR_EACH_CONCURRENCY = 10

/**
 * `forEach`: a `{{ }}` expression or a literal array, or `{ items, concurrency }`, on an action that
 * fires only `out` (a branch per item would have no meaning for the step's dependents).
 */
function compileForEach(
  step: StepDefinition,
  path: string,
  handles: string[] | undefined,
  limits: ExpressionLimits,
  problems: Problem[],
  syntax: ExpressionSyntaxError[],
): CompiledStep['forEach'] {
  const at = `${path}.forEach`
  const problem = (where: string, message: string) =>
    problems.push({ path: where, message: `step '${step.id}': ${message}` })
  if (handles?.length !== 1 || handles[0] !== 'out')
    problem(
      at,
      `forEach needs an action that fires only 'out'; ${step.uses} fires ${handles ? handles.join(', ') : 'handles known only when it runs'}`,
    )
  const raw = step.forEach
  const form = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : { items: raw }
  const { items, concurrency = FOR_EACH_CONCURRENCY, ...rest } = form as Record<string, unknown>
  for (const key of Object.keys(rest))
    problem(`${at}.${key}`, `forEach has no field '${key}' (items, concurrency)`)
  const itemsAt = form === raw ? `${at}.items` : at
  if (!Array.isArray(items) && !isExpressionText(items))
    problem(itemsAt, 'forEach items must be a {{ }} expression or a literal array')
  if (!Number.isInteger(concurrency) || (concurrency as number) < 1)
    problem(`${at}.concurrency`, 'forEach concurrency must be an integer of at least 1')
  return { items: compileTemplate(items, itemsAt, syntax, limits), concurrency: concurrency as number }
}

/**
 * When the definition breaks the schema, the checks that need a valid one still run on whatever
 * steps can be read, so that every problem is reported at once.
 */
function lenientChecks(raw: unknown, registry: PieceRegistry): Problem[] {
  const steps = (raw as { steps?: unknown })?.steps
  if (!Array.isArray(steps) && typeof (raw as { trigger?: unknown })?.trigger !== 'object') return []
  const problems: Problem[] = []
  const nodes = (Array.isArray(steps) ? steps : []).map((step, i) => {
    const s = (typeof step === 'object' && step !== null ? step : {}) as Record<string, unknown>
    const id = typeof s.id === 'string' ? s.id : `#${i}`
    const props = typeof s.with === 'object' && s.with !== null ? (s.with as Record<string, unknown>) : {}
    const syntax: ExpressionSyntaxError[] = []
    compileTemplate(props, `steps[${i}].with`, syntax)
    for (const e of syntax) problems.push({ path: e.path, message: `step '${id}': ${e.message}` })
    const action = typeof s.uses === 'string' ? registry.action(s.uses) : undefined
    // a `uses` that is not piece.action has its own problem from the schema already
    if (typeof s.uses === 'string' && s.uses.includes('.') && !action)
      problems.push({ path: `steps[${i}].uses`, message: unknownAction(id, s.uses, registry) })
    if (action) problems.push(...checkStaticProps(action.props, props, `steps[${i}].with`, id))
    const needs = typeof s.needs === 'string' ? [s.needs] : Array.isArray(s.needs) ? s.needs : []
    return {
      id,
      needs: needs.filter((n): n is string => typeof n === 'string'),
      handles: action
        ? withErrorHandle(actionHandles(action, props), s.onError as StepDefinition['onError'])
        : undefined,
    }
  })
  const trigger = (raw as { trigger?: { uses?: unknown; with?: unknown } }).trigger
  const triggerDef = typeof trigger?.uses === 'string' ? registry.trigger(trigger.uses) : undefined
  if (triggerDef && typeof trigger?.with === 'object' && trigger.with !== null) {
    problems.push(
      ...checkStaticProps(triggerDef.props, trigger.with as Record<string, unknown>, 'trigger.with'),
    )
  }
  const outputSyntax: ExpressionSyntaxError[] = []
  compileTemplate((raw as { output?: unknown }).output, 'output', outputSyntax)
  for (const e of outputSyntax) problems.push({ path: 'output', message: `workflow output: ${e.message}` })
  const readable = (Array.isArray(steps) ? steps : []).map((step, i) => ({
    id: nodes[i]!.id,
    with: (step as { with?: unknown } | null)?.with,
    forEach: (step as { forEach?: unknown } | null)?.forEach,
  }))
  return [
    ...problems,
    ...checkGraph(nodes),
    ...stepReferenceProblems(readable, (raw as { output?: unknown }).output),
  ]
}

/** Every `steps.<id>` in an expression of the steps or the output that names no step. */
function stepReferenceProblems(
  steps: { id: string; with?: unknown; forEach?: unknown }[],
  output: unknown,
): Problem[] {
  const known = new Set(steps.map((s) => s.id))
  return [
    ...steps.flatMap((step, i) => [
      ...unknownStepReferences(step.with, `steps[${i}].with`, known, `step '${step.id}'`),
      ...unknownStepReferences(step.forEach, `steps[${i}].forEach`, known, `step '${step.id}'`),
    ]),
    ...unknownStepReferences(output, 'output', known, 'workflow output'),
  ]
}

function unknownAction(stepId: string, uses: string, registry: PieceRegistry): string {
  const names = registry.list().flatMap((piece) => piece.actions.map((a) => `${piece.name}.${a.name}`))
  return `step '${stepId}' uses '${uses}': no such piece action${didYouMean(uses, names)}`
}

function unknownTrigger(uses: string, registry: PieceRegistry): string {
  const names = registry
    .list()
    .flatMap((piece) => (piece.triggers ?? []).map((t) => `${piece.name}.${t.name}`))
  return `unknown trigger '${uses}'${didYouMean(uses, names)}`
}

/** The props as the schema outputs them (defaults filled), or as written when they hold expressions. */
function withDefaults(schema: v.GenericSchema, props: Record<string, unknown>): Record<string, unknown> {
  const parsed = v.safeParse(schema, props)
  return parsed.success ? (parsed.output as Record<string, unknown>) : props
}

function withErrorHandle(handles: string[] | undefined, onError: StepDefinition['onError']) {
  return handles && onError === 'branch' ? [...handles, 'error'] : handles
}

/** Props are checked as written; values that are expressions are checked once they resolve. */
function checkStaticProps(
  schema: v.GenericSchema,
  props: Record<string, unknown>,
  prefix: string,
  stepId?: string,
): Problem[] {
  const result = v.safeParse(schema, props)
  if (result.success) return []
  const issues = result.issues.filter((issue) => !isExpressionText(issue.input))
  return issuesToProblems(issues, prefix, schema).map((p) => ({
    path: p.path,
    message: stepId ? `step '${stepId}': ${p.message}` : p.message,
  }))
}

function stepIdAt(definition: WorkflowDefinition, path: string): string {
  const match = /^steps\[(\d+)\]/.exec(path)
  return (match && definition.steps[Number(match[1])]?.id) || '?'
}

/** Dependents and outgoing edges of every step, in step order, in one pass over the needs. */
function edgesById(steps: CompiledStep[]): Pick<CompiledWorkflow, 'dependents' | 'outgoing'> {
  const outgoing = new Map<string, OutEdges[]>(steps.map((s) => [s.id, []]))
  for (const step of steps) {
    for (const edge of step.needs) {
      const list = outgoing.get(edge.from)!
      // a step's needs of one source may be several handles; they are grouped under one entry
      const last = list[list.length - 1]
      if (last?.to === step.id) last.handles.push(edge.handle)
      else list.push({ to: step.id, handles: [edge.handle] })
    }
  }
  const dependents = new Map([...outgoing].map(([id, edges]) => [id, edges.map((e) => e.to)]))
  return { dependents, outgoing }
}

export function hashDefinition(definition: unknown): string {
  return createHash('sha256').update(JSON.stringify(definition)).digest('hex')
}
