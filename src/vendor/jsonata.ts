// jsonata, from its bundle (see load.ts).
import type Jsonata from 'jsonata'
import { vendored } from './load.js'

export type JsonataExpression = Jsonata.Expression

export const jsonata = vendored<typeof Jsonata>('jsonata')
