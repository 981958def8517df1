// Secrets at rest: AES-256-GCM under a 32-byte key from the configuration. Each stored value keeps
// the id of the key that sealed it, so that old keys can still open it while they are rotated out,
// and is bound to its secret's name (additional data), so that a row copied under another name
// does not open.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { EngineError, ValidationError } from '../errors.js'

export interface SecretKey {
  /** The first 16 hex digits of the key's SHA-256: names the key in each row, reveals nothing. */
  id: string
  bytes: Buffer
}

/** A sealed value as stored: the key's id, a fresh 12-byte nonce, and the ciphertext with its tag. */
export interface Sealed {
  keyId: string
  iv: string
  data: string
}

const IV_BYTES = 12
const TAG_BYTES = 16

/** A key written as 64 hex digits or as base64 of 32 bytes (`openssl rand -base64 32`). */
export function parseKey(text: string, path: string): SecretKey {
  const trimmed = text.trim()
  let bytes: Buffer | undefined
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) bytes = Buffer.from(trimmed, 'hex')
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) bytes = Buffer.from(trimmed, 'base64')
  if (bytes?.length !== 32)
    throw new ValidationError(`${path} must be a 32-byte key, as 64 hex digits or base64`, [
      { path, message: 'expected 32 bytes as 64 hex digits or base64 (openssl rand -base64 32)' },
    ])
  return { id: createHash('sha256').update(bytes).digest('hex').slice(0, 16), bytes }
}

export function seal(key: SecretKey, name: string, value: string): Sealed {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv)
  cipher.setAAD(Buffer.from(name))
  const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return { keyId: key.id, iv: iv.toString('base64'), data: data.toString('base64') }
}

export function open(key: SecretKey, name: string, sealed: Sealed): string {
  const data = Buffer.from(sealed.data, 'base64')
  const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(sealed.iv, 'base64'))
  decipher.setAAD(Buffer.from(name))
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES))
  try {
    return Buffer.concat([
      decipher.update(data.subarray(0, data.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8')
  } catch {
    throw new EngineError(
      'SECRET_UNREADABLE',
      `stored secret '${name}' does not open with its key (tampered?)`,
    )
  }
}
