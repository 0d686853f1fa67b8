// An order-independent digest of the tree: the sum of per-node hashes, kept incrementally so
// every apply updates it in O(changed nodes). Two replicas at the same zxid must agree on it.
import type { Acl, Stat } from "@keeper/protocol";

const encoder = new TextEncoder();

/** Two independent 32-bit FNV-1a lanes over bytes. */
export function hashBytes(bytes: Uint8Array, seedA = 0x811c9dc5, seedB = 0x01000193 ^ 0x5bd1e995): [number, number] {
  let a = seedA;
  let b = seedB;
  for (let i = 0; i < bytes.length; i++) {
    const x = bytes[i]!;
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul(b ^ x, 0x01000193) ^ (b >>> 13);
  }
  return [a >>> 0, b >>> 0];
}

export function hashString(s: string): [number, number] {
  return hashBytes(encoder.encode(s));
}

function mix(h: number, v: number): number {
  // Fold a (possibly >32-bit) number in as its two 32-bit halves.
  const lo = v % 0x1_0000_0000;
  const hi = Math.floor(v / 0x1_0000_0000);
  h = Math.imul(h ^ lo, 0x01000193);
  h = Math.imul(h ^ hi, 0x01000193);
  return h >>> 0;
}

/**
 * ACL lists are shared frozen arrays (internAcl), so a hash per array is computed once and
 * kept beside it; a node's ACL then costs the digest nothing on most applies.
 */
const aclHashes = new WeakMap<readonly Acl[], [number, number]>();

export function aclHash(acl: readonly Acl[]): [number, number] {
  let h = aclHashes.get(acl);
  if (h === undefined) {
    h = hashString(acl.map((a) => `${a.perms}\u0000${a.scheme}\u0000${a.id}`).join("\u0001"));
    aclHashes.set(acl, h);
  }
  return h;
}

/** What a node's hash is made of: cached path and data hashes, its ACL and its stat. */
export interface HashedNode {
  readonly pathHash: [number, number];
  readonly dataHash: [number, number];
  readonly acl: readonly Acl[];
  readonly stat: Stat;
}

const NO_ACL_HASH: readonly [number, number] = [0, 0];

/**
 * The hash of one node. The ACL is part of it, so a replica or snapshot whose ACLs differ has
 * another digest; `withAcl` false gives the hash snapshots of format 2 were checked with.
 */
export function nodeHash(n: HashedNode, withAcl = true): [number, number] {
  const { pathHash, dataHash, stat } = n;
  const acl = withAcl ? aclHash(n.acl) : NO_ACL_HASH;
  return [statLane(stat, pathHash[0] ^ dataHash[0] ^ acl[0], 0), statLane(stat, pathHash[1] ^ Math.imul(dataHash[1], 31) ^ Math.imul(acl[1], 0x2545f491), 0x9e3779b9)];
}

// Field by field rather than over an array of them, and a module function rather than a closure
// per call: this runs for every node of a snapshot load and every apply.
function statLane(stat: HashedNode["stat"], h: number, xor: number): number {
  h = mix(h ^ xor, stat.czxid);
  h = mix(h ^ xor, stat.mzxid);
  h = mix(h ^ xor, stat.ctime);
  h = mix(h ^ xor, stat.mtime);
  h = mix(h ^ xor, stat.version);
  h = mix(h ^ xor, stat.cversion);
  h = mix(h ^ xor, stat.aversion);
  h = mix(h ^ xor, stat.ephemeralOwner);
  h = mix(h ^ xor, stat.dataLength);
  h = mix(h ^ xor, stat.numChildren);
  return mix(h ^ xor, stat.pzxid);
}

/** A running sum of node hashes, modulo 2^32 per lane. */
export class TreeDigest {
  private a = 0;
  private b = 0;
  add(h: [number, number]): void {
    this.a = (this.a + h[0]) >>> 0;
    this.b = (this.b + h[1]) >>> 0;
  }
  remove(h: [number, number]): void {
    this.a = (this.a - h[0]) >>> 0;
    this.b = (this.b - h[1]) >>> 0;
  }
  toString(): string {
    return this.a.toString(16).padStart(8, "0") + this.b.toString(16).padStart(8, "0");
  }
}
