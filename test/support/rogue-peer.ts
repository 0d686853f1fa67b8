// A stranger on a node's peer port: it speaks the peer protocol's frames but holds no
// credentials (or stolen, stale ones). Tests use it to show what such a peer can no longer do.
import { connect as netConnect } from "node:net";
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { asServerId, type PeerMessage } from "@keeper/core";
import { decodePeerFrame, encodePeerFrame } from "../../packages/server/src/peers/peer-codec.ts";
import { PEER_PROTOCOL_VERSION } from "../../packages/server/src/peers/peer-network.ts";

export interface RogueExchange {
  /** Frames the node sent back, decoded (undecodable ones as "?"). */
  received: string[];
  /** The close code, or undefined when the socket died without a close frame. */
  closeCode: number | undefined;
}

/** A hello as a member would send it: claimed id, the ensemble's peer list, a nonce of its own. */
export function helloFrame(serverId: number, peers: string, nonce = new Uint8Array(32).fill(7)): Uint8Array {
  return encodePeerFrame({ kind: "hello", serverId: asServerId(serverId), peers, protocolVersion: PEER_PROTOCOL_VERSION, nonce });
}

export function messageFrame(msg: PeerMessage): Uint8Array {
  return encodePeerFrame({ kind: "message", msg });
}

/**
 * Connects to ws://host:port/, sends `frames` one after another (each after the node's answer
 * to the previous one, or at once when it does not answer), and resolves when the node closes
 * the link or `timeoutMs` passes (the rogue then closes it).
 */
export function rogueExchange(host: string, port: number, frames: Uint8Array[], timeoutMs = 5_000): Promise<RogueExchange> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${host}:${port}/`, { perMessageDeflate: false });
    const received: string[] = [];
    let next = 0;
    const sendNext = () => {
      if (next < frames.length && ws.readyState === WebSocket.OPEN) ws.send(frames[next++]!);
    };
    const timer = setTimeout(() => ws.terminate(), timeoutMs);
    ws.on("open", () => {
      sendNext();
      // A frame the node never answers (a proof it judges) still goes out after a moment.
      const pump = setInterval(() => (next < frames.length ? sendNext() : clearInterval(pump)), 100);
      ws.once("close", () => clearInterval(pump));
    });
    ws.on("message", (data: Buffer) => {
      try {
        const f = decodePeerFrame(data);
        received.push(f.kind === "refusal" ? `refusal: ${f.reason}` : f.kind);
      } catch {
        received.push("?");
      }
      sendNext();
    });
    ws.on("error", () => {});
    ws.on("close", (code) => {
      clearTimeout(timer);
      resolve({ received, closeCode: code === 1006 ? undefined : code });
    });
  });
}

/**
 * Opens a WebSocket to the peer port and then streams one binary frame whose header announces
 * `bytes` of payload, writing the payload in 1 MiB pieces until the node hangs up. Resolves with
 * how many payload bytes the socket accepted before that.
 */
export function hugeFrame(host: string, port: number, bytes: number): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${host}:${port}/`, { perMessageDeflate: false });
    ws.on("error", () => {});
    ws.once("open", () => {
      const socket = (ws as unknown as { _socket: import("node:net").Socket })._socket;
      // Client frames are masked: FIN+binary, mask bit + 127, 64-bit length, 4-byte mask key.
      const header = Buffer.alloc(14);
      header[0] = 0x82;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(bytes), 2);
      socket.write(header);
      pump(socket, bytes, resolve);
    });
  });
}

/** An HTTP POST to the peer port with a body of `bytes`, instead of a WebSocket upgrade. */
export function hugeHttpBody(host: string, port: number, bytes: number): Promise<number> {
  return new Promise((resolve) => {
    const socket = netConnect(port, host, () => {
      socket.write(`POST / HTTP/1.1\r\nhost: ${host}\r\ncontent-length: ${bytes}\r\n\r\n`);
      pump(socket, bytes, resolve);
    });
    socket.on("error", () => {});
  });
}

function pump(socket: import("node:net").Socket, bytes: number, done: (sent: number) => void): void {
  const piece = Buffer.alloc(1024 * 1024, 0x41);
  let sent = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    socket.destroy();
    done(sent);
  };
  socket.once("close", finish);
  socket.once("error", finish);
  const write = () => {
    while (sent < bytes && !socket.destroyed) {
      sent += piece.length;
      if (!socket.write(piece)) return void socket.once("drain", write);
    }
    // Everything is out: give the node a moment to answer, then hang up ourselves.
    setTimeout(finish, 1_000);
  };
  write();
}

/** Resident set size of a process, in bytes, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
