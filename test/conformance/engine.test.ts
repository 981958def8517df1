// Every conformance case through the engine's programmatic API, on the database under test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isEngineError, ValidationError } from '../../src/errors.js'
import { Engine } from '../../src/runtime/engine.js'
import { expectable, expectedRun, loadCases } from '../helpers/cases.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'

let engine: Engine

beforeAll(async () => {
  engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 2 })
})

afterAll(async () => {
  await engine?.close()
})

describe(`conformance through the engine API (${TEST_DB})`, () => {
  for (const c of loadCases()) {
    it(c.name, async () => {
      if (c.expect.invalid) {
        const error = await engine.runOnce(c.workflow, c.input).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(ValidationError)
        const text = JSON.stringify({
          message: (error as ValidationError).message,
          problems: (error as ValidationError).problems,
        }).toLowerCase()
        for (const mention of c.expect.mentions ?? []) expect(text).toContain(String(mention).toLowerCase())
        return
      }
      for (const callee of c.workflows ?? []) await engine.deploy(callee)
      const signals = (c.signals ?? []).map((s) => ({ name: s.name, data: s.data ?? null }))
      const run = await engine.runOnce(c.workflow, c.input, signals).catch((e: unknown) => {
        throw isEngineError(e) ? new Error(`${e.code}: ${e.message} ${JSON.stringify(e.details)}`) : e
      })
      expect(expectable(run)).toMatchObject(expectedRun(c))
    })
  }
})
