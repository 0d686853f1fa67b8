// The other side of SessionAuth: what the node holding a client's connection keeps so it can
// prove that connection to a leader again. A new leader starts with an empty table (it never
// saw the credentials sent to the old one); before a follower forwards any write to it, the
// follower registers every connection it holds, with the credentials each one sent, so a
// write never runs as someone the leader did not verify, and a client that stayed connected
// need not authenticate again. The node keeps the credentials only while the connection lives.
import { limits, type SessionId } from "@keeper/protocol";
import type { ForwardedRequest } from "../zab/types.ts";

interface Held {
  conn: number;
  address: string;
  certificate: string | undefined;
  credentials: Array<{ scheme: string; auth: Uint8Array }>;
}

export type Registration = Extract<ForwardedRequest, { type: "bind" | "auth" | "unbind" }>;

/**
 * Connections attached on this node, by session (a session is attached on one connection at a
 * time); as many as the node's client connections, each with at most
 * identitiesPerConnectionMax credentials.
 */
export class AttachedConnections {
  private readonly bySession = new Map<SessionId, Held>();

  get size(): number {
    return this.bySession.size;
  }

  /** The session attached on connection `conn` (replacing any earlier one): what to tell the leader. */
  bind(sessionId: SessionId, conn: number, address: string, certificate?: string): Registration {
    this.bySession.set(sessionId, { conn, address, certificate, credentials: [] });
    return { type: "bind", sessionId, conn, address, ...(certificate !== undefined ? { certificate } : {}) };
  }

  /** A credential the client sent on `conn`; undefined when that connection is not the session's. */
  credential(sessionId: SessionId, conn: number, scheme: string, auth: Uint8Array): Registration | undefined {
    const held = this.bySession.get(sessionId);
    if (held?.conn !== conn) return undefined;
    if (held.credentials.length >= limits.identitiesPerConnectionMax || auth.length > limits.credentialBytesMax) return undefined;
    held.credentials.push({ scheme, auth });
    return { type: "auth", sessionId, conn, scheme, auth };
  }

  /** The connection closed; undefined when the session had moved on to another connection. */
  unbind(sessionId: SessionId, conn: number): Registration | undefined {
    if (this.bySession.get(sessionId)?.conn !== conn) return undefined;
    this.bySession.delete(sessionId);
    return { type: "unbind", sessionId, conn };
  }

  /** Everything a new leader must hear: each attachment, then its credentials in the order sent. */
  *registrations(): Iterable<Registration> {
    for (const [sessionId, h] of this.bySession) {
      yield { type: "bind", sessionId, conn: h.conn, address: h.address, ...(h.certificate !== undefined ? { certificate: h.certificate } : {}) };
      for (const c of h.credentials) yield { type: "auth", sessionId, conn: h.conn, scheme: c.scheme, auth: c.auth };
    }
  }
}
