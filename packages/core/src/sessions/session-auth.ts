// Who a session is, as the leader knows it. A write is checked against the ACLs by the leader,
// so the identities it is checked with must be ones the leader verified itself: a follower
// forwards a client's credential (an auth packet), never an identity, and the leader computes
// the identity from it (CredentialCheck, the shell's hashing and its super digest). A
// forwarded write then names only its session and the connection it came on; a follower that
// is buggy or compromised can act as the clients connected to it (it holds their sockets), but
// not as a client that proved itself elsewhere, nor as anyone whose password it never saw.
//
// Auth is per connection, as in ZooKeeper: a session that attaches on a new connection (on any
// node) starts with only its address until its client sends its credentials again, which
// ZooKeeper's clients do on every reconnect. The address and the subject of a TLS client
// certificate are the identities the leader takes on the word of the node holding the socket:
// no one else saw them.
import { limits, type Identity, type SessionId } from "@keeper/protocol";
import { javaSetOrder } from "../requests/java-set-order.ts";
import type { ServerId } from "../zab/types.ts";

/**
 * Checks a credential and names what it proves, in the order ZooKeeper adds them (the super
 * user first); undefined: it proves nothing (AUTHFAILED).
 */
export type CredentialCheck = (scheme: string, auth: Uint8Array) => Identity[] | undefined;

/** Where a session is attached: the node holding the connection, and that node's number for it. */
export interface Attachment {
  origin: ServerId;
  conn: number;
}

export type AuthOutcome = { kind: "ok"; added: number } | { kind: "refused"; reason: string };

interface Binding extends Attachment {
  /** The address first, then what credentials proved, each once, in the order they came. */
  known: Identity[];
  /** `known` in ZooKeeper's iteration order (auth ACL entries expand in it); rebuilt on change. */
  ordered: Identity[] | undefined;
}

/** An address as a connection names it (IPv4, IPv6 with a zone): no ACL separator, bounded. */
const ADDRESS = /^[0-9A-Za-z:.%_-]{1,64}$/;
const NONE: readonly Identity[] = Object.freeze([]);
/** Longest certificate subject DN taken as an identity (the shell gives none longer). */
const DN_CHARS_MAX = 1024;

/**
 * The leader's table: for each session attached somewhere, the attachment and the identities
 * its connection proved to this leader. At most one entry per live session (a bind for an
 * unknown session is refused), each with at most identitiesPerConnectionMax identities.
 */
export class SessionAuth {
  private readonly bindings = new Map<SessionId, Binding>();

  constructor(private readonly check: CredentialCheck | undefined) {}

  get size(): number {
    return this.bindings.size;
  }

  /**
   * The session's client attached on connection `at`: it starts afresh with its address only.
   * `exists`: the session is live (the caller looks in the replicated session table).
   */
  bind(sessionId: SessionId, at: Attachment, address: string, exists: boolean, certificate?: string): string | undefined {
    if (!exists) return `session ${sessionId} does not exist`;
    if (!ADDRESS.test(address)) return "not an address";
    if (certificate !== undefined && (certificate === "" || certificate.length > DN_CHARS_MAX)) return "not a certificate subject";
    const known = [{ scheme: "ip", id: address }, ...(certificate !== undefined ? [{ scheme: "x509", id: certificate }] : [])];
    this.bindings.set(sessionId, { origin: at.origin, conn: at.conn, known, ordered: undefined });
    return undefined;
  }

  /** A credential the session's client sent on connection `at`, checked here. */
  authenticate(sessionId: SessionId, at: Attachment, scheme: string, auth: Uint8Array): AuthOutcome {
    const b = this.current(sessionId, at);
    if (!b) return { kind: "refused", reason: "the session is not attached on that connection" };
    if (auth.length > limits.credentialBytesMax) return { kind: "refused", reason: "credential too long" };
    const proved = this.check?.(scheme, auth);
    if (!proved) return { kind: "refused", reason: `the credential (scheme ${scheme}) proves nothing` };
    const fresh = proved.filter((p) => !b.known.some((k) => k.scheme === p.scheme && k.id === p.id));
    if (b.known.length + fresh.length > limits.identitiesPerConnectionMax) return { kind: "refused", reason: `a connection holds at most ${limits.identitiesPerConnectionMax} identities` };
    if (fresh.length > 0) {
      b.known.push(...fresh);
      b.ordered = undefined;
    }
    return { kind: "ok", added: fresh.length };
  }

  /** The connection closed: forget it, unless the session has moved on to another one since. */
  unbind(sessionId: SessionId, at: Attachment): void {
    if (this.current(sessionId, at)) this.bindings.delete(sessionId);
  }

  /**
   * Who a write that came on connection `at` is checked as: what that connection proved to
   * this leader, in ZooKeeper's order; nobody (no identity at all) when the session is not
   * attached there, whatever the sender claims.
   */
  identities(sessionId: SessionId, at: Attachment): readonly Identity[] {
    const b = this.current(sessionId, at);
    if (!b) return NONE;
    return (b.ordered ??= javaSetOrder(b.known, (i) => i));
  }

  /** The session ended. */
  forgetSession(sessionId: SessionId): void {
    this.bindings.delete(sessionId);
  }

  /** A follower's link went: its connections are gone, and it registers them again when it rejoins. */
  forgetOrigin(origin: ServerId): void {
    for (const [id, b] of this.bindings) if (b.origin === origin) this.bindings.delete(id);
  }

  private current(sessionId: SessionId, at: Attachment): Binding | undefined {
    const b = this.bindings.get(sessionId);
    return b && b.origin === at.origin && b.conn === at.conn ? b : undefined;
  }
}
