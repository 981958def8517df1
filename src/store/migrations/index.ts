// The schema's migrations, in the order they run (imported only when a database opens).

import { Migration0001Initial } from './0001-initial.js'
import { Migration0002Leases } from './0002-leases.js'
import { Migration0003ScheduleFires } from './0003-schedule-fires.js'
import { Migration0004StepInterruptions } from './0004-step-interruptions.js'
import { Migration0005LeaseEpoch } from './0005-lease-epoch.js'
import { Migration0006CancelRequests } from './0006-cancel-requests.js'
import { Migration0007RunRetention } from './0007-run-retention.js'
import { Migration0008LoopsChildrenSignals } from './0008-loops-children-signals.js'
import { Migration0009Secrets } from './0009-secrets.js'
import { Migration0010WebhookIdsPauses } from './0010-webhook-ids-pauses.js'
import { Migration0011RunsCreatedAt } from './0011-runs-created-at.js'

export const MIGRATIONS = [
  { name: '0001-initial', class: Migration0001Initial },
  { name: '0002-leases', class: Migration0002Leases },
  { name: '0003-schedule-fires', class: Migration0003ScheduleFires },
  { name: '0004-step-interruptions', class: Migration0004StepInterruptions },
  { name: '0005-lease-epoch', class: Migration0005LeaseEpoch },
  { name: '0006-cancel-requests', class: Migration0006CancelRequests },
  { name: '0007-run-retention', class: Migration0007RunRetention },
  { name: '0008-loops-children-signals', class: Migration0008LoopsChildrenSignals },
  { name: '0009-secrets', class: Migration0009Secrets },
  { name: '0010-webhook-ids-pauses', class: Migration0010WebhookIdsPauses },
  { name: '0011-runs-created-at', class: Migration0011RunsCreatedAt },
]
