// knex, from its bundle (see load.ts): its SQLite and PostgreSQL dialects, the drivers from
// node_modules.
import type { knex as Knex } from 'knex'
import { vendored } from './load.js'

export const knex = vendored<{ knex: typeof Knex }>('knex').knex
