// commander, from its bundle (see load.ts).
import type * as Commander from 'commander'
import { vendored } from './load.js'

export type Command = Commander.Command
export type CommanderError = Commander.CommanderError

export const { Command, CommanderError, InvalidArgumentError, Option } =
  vendored<typeof Commander>('commander')
