// What the figures were measured on: they mean little without it.
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os'

export function machine() {
  const cpu = cpus()[0]
  return {
    cores: availableParallelism(),
    cpu: cpu ? `${cpu.model}${cpu.speed ? ` @ ${cpu.speed} MHz` : ''}` : 'unknown',
    node: process.version,
    os: `${platform()} ${release()}`,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  }
}

/** The 1-minute load average: above the core count, other processes took CPU from the figures. */
export function load1() {
  return Math.round(loadavg()[0] * 100) / 100
}
