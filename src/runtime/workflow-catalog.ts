// The workflows an engine knows: definitions checked and compiled, versions stored, compiled
// versions kept in a bounded cache, and the rule that two webhook workflows never share a path.
import { type CompiledWorkflow, compileWorkflow } from '../definition/compile.js'
import type { DefinitionLimits } from '../definition/limits.js'
import type { ExpressionLimits } from '../definition/template.js'
import { ConflictError, ValidationError } from '../errors.js'
import type { PieceRegistry } from '../piece-sdk/registry.js'
import { secretProblems } from '../secrets/references.js'
import type { WorkflowStore } from '../store/workflows.js'
import { normalisePath } from '../triggers/webhooks.js'
import { LruCache } from './lru-cache.js'

export interface DeployResult {
  workflow: CompiledWorkflow
  version: number
  created: boolean
}

/** Compiled workflow versions kept in memory; runs hold their own, so one dropped is only compiled again. */
const COMPILED_VERSIONS = 1000

export class WorkflowCatalog {
  /** Compiled versions by `id@version`; bounded, since every version ever started may pass through. */
  private readonly compiled = new LruCache<string, CompiledWorkflow>(COMPILED_VERSIONS)

  constructor(
    private readonly store: WorkflowStore,
    private readonly registry: PieceRegistry,
    private readonly limits: { expressions: ExpressionLimits; limits: DefinitionLimits },
    /** The secrets known: a name written out in a definition must be one of them. */
    private readonly secrets?: { has(name: string): boolean; refresh(withinMs?: number): Promise<void> },
  ) {}

  /**
   * Checks a definition for deploying it; throws a ValidationError listing every problem, secrets
   * it names that are not defined among them. (A stored version is compiled without that check: a
   * secret deleted since fails the step that reads it, SECRET_NOT_FOUND.)
   */
  compile(definition: unknown): CompiledWorkflow {
    const secrets = this.secrets
    const missing = secrets ? secretProblems(definition, this.registry, (name) => secrets.has(name)) : []
    let workflow: CompiledWorkflow
    try {
      workflow = compileWorkflow(definition, this.registry, this.limits)
    } catch (error) {
      if (!(error instanceof ValidationError) || missing.length === 0) throw error
      throw new ValidationError(error.message, [...error.problems, ...missing])
    }
    if (missing.length > 0) throw new ValidationError(`workflow '${workflow.id}' is invalid`, missing)
    return workflow
  }

  async deploy(
    definition: unknown,
    options: { mustExist?: boolean; mustNotExist?: boolean } = {},
  ): Promise<DeployResult> {
    // secrets another process stored a moment ago count
    await this.secrets?.refresh()
    const workflow = this.compile(definition)
    if (workflow.trigger.kind === 'webhook') await this.checkWebhookPath(workflow)
    const { version, created } = await this.store.save(
      {
        id: workflow.id,
        name: workflow.definition.name,
        triggerKind: workflow.trigger.kind,
        definition: workflow.definition,
        hash: workflow.hash,
      },
      options,
    )
    this.compiled.set(`${workflow.id}@${version}`, workflow)
    return { workflow, version, created }
  }

  /**
   * A version of a workflow, compiled; without one, the current version and whether the workflow
   * is paused now (read on every run start where another process may have changed them).
   */
  async version(
    id: string,
    version?: number,
  ): Promise<{ workflow: CompiledWorkflow; version: number; paused?: boolean }> {
    if (version !== undefined) return this.compiledVersion(id, version)
    const current = await this.store.startingVersion(id)
    return { ...(await this.compiledVersion(id, current.version)), paused: current.paused }
  }

  /**
   * A version of a workflow, compiled, for a run that a run starts (a child, a failure handler):
   * without one, the current version as this process knows it, read only when it does not (see
   * src/store/known-versions.ts), so that starting it waits for nothing.
   */
  async knownVersion(id: string, version?: number): Promise<{ workflow: CompiledWorkflow; version: number }> {
    return this.compiledVersion(id, version ?? (await this.store.knownCurrentVersion(id)))
  }

  private async compiledVersion(
    id: string,
    version: number,
  ): Promise<{ workflow: CompiledWorkflow; version: number }> {
    const cached = this.compiled.get(`${id}@${version}`)
    if (cached) return { workflow: cached, version }
    const stored = await this.store.get(id, version)
    const key = `${id}@${stored.version}`
    let workflow = this.compiled.get(key)
    if (!workflow) {
      workflow = compileWorkflow(stored.definition, this.registry, this.limits)
      this.compiled.set(key, workflow)
    }
    return { workflow, version: stored.version }
  }

  /** The current version of every live workflow, optionally of one trigger kind. */
  async live(kind?: string): Promise<{ workflow: CompiledWorkflow; version: number }[]> {
    const rows = (await this.store.list()).filter((w) => kind === undefined || w.triggerKind === kind)
    return Promise.all(rows.map((w) => this.version(w.id, w.currentVersion)))
  }

  /** Two workflows claiming one webhook path is a conflict at deploy time. */
  private async checkWebhookPath(workflow: CompiledWorkflow): Promise<void> {
    const path = normalisePath(String(workflow.trigger.props.path))
    for (const other of await this.live('webhook')) {
      if (other.workflow.id === workflow.id) continue
      if (normalisePath(String(other.workflow.trigger.props.path)) === path) {
        throw new ConflictError(`webhook path '${path}' belongs to workflow '${other.workflow.id}' already`, [
          { path: 'trigger.with.path', message: `taken by workflow '${other.workflow.id}'` },
        ])
      }
    }
  }
}
