// Prop schemas that many pieces share.
import * as v from 'valibot'
import { parseDuration } from '../definition/duration.js'

const DURATION = 'must be a duration like 250ms, 10s, 5m, 2h or 1d, or a number of milliseconds'

/** A duration: milliseconds, or text like `10s`; checked when the workflow is deployed. */
export const durationProp = () =>
  v.union(
    [
      v.pipe(v.number(), v.minValue(0)),
      v.pipe(
        v.string(),
        v.check((text) => parseDuration(text) !== undefined, DURATION),
      ),
    ],
    DURATION,
  )
