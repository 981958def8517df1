// prom-client, from its bundle (see load.ts).
import type * as PromClient from 'prom-client'
import { vendored } from './load.js'

export type Registry = PromClient.Registry

export const { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } =
  vendored<typeof PromClient>('prom-client')
