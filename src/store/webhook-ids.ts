// The ids of Standard Webhooks requests a workflow took, each kept until its tolerance window has
// passed: one row per (workflow, id), so a replay is refused across every process on the database.
// Expired rows are pruned now and then; until then an expired row counts as absent.
import type { Knex } from '@mikro-orm/knex'

/**
 * How long after it expired a row is still kept: another process whose clock is behind this one's
 * by up to this much still finds it (and so refuses a replay that its clock would let through).
 */
export const PRUNE_GRACE_MS = 5 * 60_000

export class WebhookIds {
  private lastPrune = 0

  constructor(
    private readonly knex: Knex,
    private readonly pruneEveryMs = 60_000,
    private readonly graceMs = PRUNE_GRACE_MS,
  ) {}

  /**
   * Records that a workflow took the request `id`, remembered until `expiresAt`: false when it had
   * taken it already and the record has not expired (a replay).
   */
  async remember(workflowId: string, id: string, expiresAt: number, now: number): Promise<boolean> {
    const inserted = await this.knex('webhook_ids')
      .insert({ workflow_id: workflowId, message_id: id, expires_at: expiresAt })
      .onConflict(['workflow_id', 'message_id'])
      .ignore()
      .returning('message_id')
    const fresh =
      inserted.length > 0 ||
      (await this.knex('webhook_ids')
        .where({ workflow_id: workflowId, message_id: id })
        .andWhere('expires_at', '<', now)
        .update({ expires_at: expiresAt })) > 0
    if (now - this.lastPrune >= this.pruneEveryMs) {
      this.lastPrune = now
      await this.prune(now)
    }
    return fresh
  }

  /** Forgets an id whose run could not be started after all, so that the sender may try again. */
  async forget(workflowId: string, id: string): Promise<void> {
    await this.knex('webhook_ids').where({ workflow_id: workflowId, message_id: id }).delete()
  }

  /** Deletes the rows that expired longer than the grace ago; gives how many. */
  async prune(now: number): Promise<number> {
    return this.knex('webhook_ids')
      .where('expires_at', '<', now - this.graceMs)
      .delete()
  }
}
