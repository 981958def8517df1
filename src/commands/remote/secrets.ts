// `piecework secrets list | set | delete`: the named secrets of a running server. A value is never
// taken on the command line (shells keep it in their history, `ps` shows it): `set` reads it from
// standard input, or from an environment variable named with `--from-env`.
import { type Connection, RemoteError, unwrap } from './client.js'
import { asJson, type Format, table, type Write, when } from './output.js'

export async function listSecrets({ api }: Connection, format: Format, out: Write): Promise<number> {
  const page = await unwrap(api.GET('/api/v1/secrets'))
  if (format === 'json') out(asJson(page))
  else if (page.items.length === 0) out('no secrets\n')
  else
    out(
      table(
        ['name', 'source', 'updated'],
        page.items.map((s) => [s.name, s.source, when(s.updatedAt)]),
      ),
    )
  return 0
}

/** The value: the named environment variable's, else standard input (one trailing newline dropped). */
export async function secretValue(
  options: { fromEnv?: string },
  input: AsyncIterable<Buffer | string> = process.stdin,
  env = process.env,
): Promise<string> {
  if (options.fromEnv !== undefined) {
    const value = env[options.fromEnv]
    if (value === undefined)
      throw new RemoteError(`--from-env ${options.fromEnv}: that variable is not set`, 2)
    return value
  }
  if (input === process.stdin && process.stdin.isTTY)
    throw new RemoteError(
      'give the value on standard input (echo … | piecework secrets set NAME), or --from-env VAR',
      2,
    )
  let text = ''
  for await (const chunk of input) text += chunk
  return text.replace(/\r?\n$/, '')
}

export async function setSecret(
  { api }: Connection,
  name: string,
  value: string,
  format: Format,
  out: Write,
): Promise<number> {
  const put = api.PUT('/api/v1/secrets/{name}', { params: { path: { name } }, body: { value } })
  const secret = await unwrap(put)
  if (format === 'json') out(asJson(secret))
  else out(`${secret.createdAt === secret.updatedAt ? 'stored' : 'replaced'} ${secret.name}\n`)
  return 0
}

export async function deleteSecret({ api }: Connection, name: string, out: Write): Promise<number> {
  await unwrap(api.DELETE('/api/v1/secrets/{name}', { params: { path: { name } } }))
  out(`deleted ${name}\n`)
  return 0
}
