// The slice of the standard WebSocket API the client uses, so a browser's WebSocket, the
// `ws` package or a test double can be passed in. This file stays browser-safe: the `ws`
// package is only imported, lazily, when no WebSocket is given and the host has none.

/**
 * The socket, as the standard API shapes it. Event handler parameters are `any` because
 * each implementation types its events differently (DOM MessageEvent, ws.MessageEvent);
 * the client reads only `data` from message events.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** readyState value of an open socket, the same in every implementation. */
export const WS_OPEN = 1;

export async function resolveWebSocket(given: WebSocketConstructor | undefined): Promise<WebSocketConstructor> {
  if (given !== undefined) return given;
  const native = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (native !== undefined) return native;
  const nodeModule = await import("./node-websocket.ts");
  return nodeModule.NodeWebSocket;
}

/** Frame bytes from a message event's data, or undefined for a text frame. */
export function frameBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
