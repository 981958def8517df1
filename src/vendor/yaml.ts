// yaml, from its bundle (see load.ts).
import { vendored } from './load.js'

export const { parse, parseDocument } = vendored<typeof import('yaml')>('yaml')
