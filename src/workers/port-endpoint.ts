// A comlink endpoint over a worker_threads MessagePort (comlink's own adapter ships as UMD only).
import type { MessagePort } from 'node:worker_threads'
import type { Endpoint } from 'comlink'

type Listener = (event: { data: unknown }) => void

export function portEndpoint(port: MessagePort): Endpoint {
  const listeners = new WeakMap<object, (data: unknown) => void>()
  return {
    postMessage: (message: unknown, transfer?: unknown[]) => port.postMessage(message, transfer as never),
    addEventListener: (_type: string, handler: unknown) => {
      const l = (data: unknown) => {
        const h = handler as Listener | { handleEvent: Listener }
        if (typeof h === 'function') h({ data })
        else h.handleEvent({ data })
      }
      port.on('message', l)
      listeners.set(handler as object, l)
    },
    removeEventListener: (_type: string, handler: unknown) => {
      const l = listeners.get(handler as object)
      if (l) port.off('message', l)
      listeners.delete(handler as object)
    },
    start: () => port.start(),
  } as unknown as Endpoint
}
