// CPU profiles with `--profile`: of the measured window only (not of start-up) for in-process
// benches (bench/results/profiles/<name>.cpuprofile, main thread), of every thread of a server
// child process (lib/server.mjs). bench/profile-summary.mjs reads them.
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { fileURLToPath } from 'node:url'

export const PROFILE_DIR = fileURLToPath(new URL('../results/profiles/', import.meta.url))

export const profiling = process.argv.includes('--profile')

/** Profiles are large and of one machine: they stay out of git (bench/results/ itself may be committed). */
export function ensureProfileDir() {
  mkdirSync(PROFILE_DIR, { recursive: true })
  writeFileSync(`${PROFILE_DIR}.gitignore`, '*\n')
}

/** Starts sampling when `--profile` was given; the returned function stops and saves. */
export async function profileWindow(name) {
  if (!profiling) return async () => undefined
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
  return async () => {
    const { profile } = await session.post('Profiler.stop')
    session.disconnect()
    ensureProfileDir()
    const file = `${PROFILE_DIR}${name}.cpuprofile`
    writeFileSync(file, JSON.stringify(profile))
    return file
  }
}
