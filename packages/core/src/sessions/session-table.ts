// The replicated part of sessions: which exist, their negotiated timeout and password.
// Changed only by createSession / closeSession transactions, so every replica agrees.
import type { SessionId } from "@keeper/protocol";
import { ByteWriter } from "../bytes.ts";
import { TreeDigest, hashBytes } from "../tree/digest.ts";

export interface SessionInfo {
  id: SessionId;
  timeoutMs: number;
  password: Uint8Array;
}

/** One session record's hash: what snapshots (format 3) and the run-time digest sum up. */
export function sessionHash(s: SessionInfo): [number, number] {
  return hashBytes(new ByteWriter(32 + s.password.length).num(s.id).u32(s.timeoutMs).bytes(s.password).finish());
}

export class SessionTable {
  private readonly sessions = new Map<SessionId, SessionInfo>();
  /** Kept with every add and remove, so the digest costs O(1) per commit (see digest()). */
  private readonly sum = new TreeDigest();

  get size(): number {
    return this.sessions.size;
  }

  get(id: SessionId): SessionInfo | undefined {
    return this.sessions.get(id);
  }

  has(id: SessionId): boolean {
    return this.sessions.has(id);
  }

  add(info: SessionInfo): void {
    const old = this.sessions.get(info.id);
    if (old) this.sum.remove(sessionHash(old));
    this.sessions.set(info.id, info);
    this.sum.add(sessionHash(info));
  }

  remove(id: SessionId): boolean {
    const old = this.sessions.get(id);
    if (!old) return false;
    this.sum.remove(sessionHash(old));
    return this.sessions.delete(id);
  }

  /** An order-independent digest of every record (the same sum a format-3 snapshot header holds). */
  digest(): string {
    return this.sum.toString();
  }

  all(): IterableIterator<SessionInfo> {
    return this.sessions.values();
  }
}

/** Constant-time comparison, so a password check does not leak how many bytes matched. */
export function passwordMatches(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
