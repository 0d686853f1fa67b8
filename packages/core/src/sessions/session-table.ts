// The replicated part of sessions: which exist, their negotiated timeout and password.
// Changed only by createSession / closeSession transactions, so every replica agrees.
import type { SessionId } from "@keeper/protocol";

export interface SessionInfo {
  id: SessionId;
  timeoutMs: number;
  password: Uint8Array;
}

export class SessionTable {
  private readonly sessions = new Map<SessionId, SessionInfo>();

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
    this.sessions.set(info.id, info);
  }

  remove(id: SessionId): boolean {
    return this.sessions.delete(id);
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
