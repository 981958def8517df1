// Reads a SQLite file that no process holds any more (after a SIGKILL, before the restart): what
// the engine had made durable at that moment.
import Database from 'better-sqlite3'

/**
 * `{ runs: Map<id, status>, steps: Map<'<runId>:<stepId>', status>, latestWake }` of one workflow;
 * `latestWake` is the latest due time (epoch ms) of a waiting step.
 */
export async function snapshot(file, workflowId) {
  const db = new Database(file, { fileMustExist: true })
  try {
    const runs = db.prepare('select id, status from runs where workflow_id = ?').all(workflowId)
    const steps = db
      .prepare(
        'select s.run_id, s.step_id, s.status, s.wake_at from step_states s join runs r on r.id = s.run_id where r.workflow_id = ?',
      )
      .all(workflowId)
    return {
      runs: new Map(runs.map((r) => [r.id, r.status])),
      steps: new Map(steps.map((s) => [`${s.run_id}:${s.step_id}`, s.status])),
      latestWake: Math.max(0, ...steps.filter((s) => s.status === 'waiting').map((s) => Number(s.wake_at))),
    }
  } finally {
    db.close()
  }
}

/** How many of `map`'s values are each status. */
export function countBy(map) {
  const counts = {}
  for (const status of map.values()) counts[status] = (counts[status] ?? 0) + 1
  return counts
}
