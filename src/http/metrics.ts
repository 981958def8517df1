// Prometheus metrics: runs started, finished and pruned, step durations, the pool's queue and use,
// and the process's own (event-loop lag among them).

import { RUN_ENDED, STEP_ENDED } from '../model/status.js'
import type { Engine } from '../runtime/engine.js'
import { type RunPruner, STATUSES } from '../runtime/run-pruner.js'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from '../vendor/prom-client.js'

export function engineMetrics(
  engine: Engine,
  sources: { pruner?: Pick<RunPruner, 'events'> } = {},
): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'piecework_process_' })
  const started = new Counter({
    name: 'piecework_runs_started_total',
    help: 'Runs started',
    registers: [registry],
  })
  const finished = new Counter({
    name: 'piecework_runs_finished_total',
    help: 'Runs finished, by status',
    labelNames: ['status'],
    registers: [registry],
  })
  const steps = new Histogram({
    name: 'piecework_step_duration_seconds',
    help: 'Step durations from start to end, by status',
    labelNames: ['status'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [registry],
  })
  new Gauge({
    name: 'piecework_pool_queue_depth',
    help: 'Steps waiting for a worker thread',
    registers: [registry],
    collect() {
      this.set(engine.executors.queueSize)
    },
  })
  new Gauge({
    name: 'piecework_pool_utilization',
    help: 'Share of the pool threads busy (0..1)',
    registers: [registry],
    collect() {
      this.set(engine.executors.utilization)
    },
  })
  new Gauge({
    name: 'piecework_runs_in_memory',
    help: 'Runs held by a supervisor in this process',
    registers: [registry],
    collect() {
      this.set(engine.activeRuns)
    },
  })
  engine.events.on('run', (_id, state) => {
    if (RUN_ENDED.has(state.status)) finished.inc({ status: state.status })
  })
  engine.events.on('started', () => started.inc())
  const pruned = new Counter({
    name: 'piecework_runs_pruned_total',
    help: 'Ended runs deleted by runs.retention (with their step rows and log lines), by status',
    labelNames: ['status'],
    registers: [registry],
  })
  for (const status of STATUSES) pruned.inc({ status }, 0)
  sources.pruner?.events.on('batch', (status, rows) => pruned.inc({ status }, rows.runs))
  engine.events.on('step', (_id, step) => {
    if (STEP_ENDED.has(step.status) && step.startedAt !== undefined && step.finishedAt !== undefined) {
      steps.observe({ status: step.status }, (step.finishedAt - step.startedAt) / 1000)
    }
  })
  return registry
}
