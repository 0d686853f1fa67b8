// How two members prove to each other that they belong to the ensemble before any other peer
// message counts. Two ways, usable together:
// - a shared secret (one per ensemble): each side sends a fresh random nonce and proves it knows
//   the secret with an HMAC over both nonces, both ids and the peer list. The two proofs carry
//   different labels, so one side's proof cannot be reflected back as the other's, and a
//   recorded handshake is useless against a fresh nonce: a replayed hello fails.
// - mutual TLS: both ends present a certificate signed by the ensemble's CA, and the
//   certificate names the server id it may speak for (subject CN "server.<id>"): a peer's
//   certificate for server 2 cannot be used to claim server 3.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { PeerCertificate } from "node:tls";

export const NONCE_BYTES = 32;
/** A secret shorter than this is refused at start: it would fall to an offline guess. */
export const PEER_SECRET_CHARS_MIN = 16;

export interface PeerTls {
  key: Buffer;
  cert: Buffer;
  /** The ensemble's CA: the only issuer a peer's certificate is accepted from. */
  ca: Buffer;
}

/** At least one of the two is set: a multi-node ensemble never runs its peer port open. */
export interface PeerAuth {
  secret?: Buffer;
  tls?: PeerTls;
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** Which end of the link a proof speaks for: the one that dialled or the one that accepted. */
export type ProofRole = "dial" | "accept";

export interface HandshakeFacts {
  peers: string;
  dialer: number;
  acceptor: number;
  dialerNonce: Uint8Array;
  acceptorNonce: Uint8Array;
}

export function proofOf(secret: Buffer, role: ProofRole, f: HandshakeFacts): Buffer {
  const h = createHmac("sha256", secret);
  h.update(`keeper peer ${role}\0${f.peers}\0${f.dialer}\0${f.acceptor}\0`);
  h.update(f.dialerNonce);
  h.update(f.acceptorNonce);
  return h.digest();
}

/** True when `proof` is what `role` must send for these facts; compared in constant time. */
export function proofValid(secret: Buffer, role: ProofRole, f: HandshakeFacts, proof: Uint8Array): boolean {
  const want = proofOf(secret, role, f);
  return proof.length === want.length && timingSafeEqual(want, proof);
}

/** The server id a peer certificate is bound to (its subject CN "server.<id>"), if any. */
export function certServerId(cert: PeerCertificate | undefined): number | undefined {
  const cn = cert?.subject?.CN;
  const m = typeof cn === "string" ? /^server\.(\d{1,3})$/.exec(cn) : null;
  return m ? Number(m[1]) : undefined;
}
