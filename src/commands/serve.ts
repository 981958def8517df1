// `piecework serve`: the engine behind its HTTP API.
export async function serveCommand(_options: { configFile?: string }): Promise<number> {
  throw new Error('serve is not built yet')
}
