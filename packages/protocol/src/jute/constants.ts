// Numbers of ZooKeeper's client protocol that are not opcodes or error codes (those live in
// ../codes.ts): reserved xids, watch modes and the ephemeralOwner encodings of EphemeralType.

/** Reply xid of a watch notification (ClientCnxn.NOTIFICATION_XID). */
export const NOTIFICATION_XID = -1;
/** Request and reply xid of a ping. */
export const PING_XID = -2;
/** Request and reply xid of an AuthPacket. */
export const AUTH_XID = -4;
/** Request and reply xid of the SetWatches/SetWatches2 a client sends after reconnecting. */
export const SET_WATCHES_XID = -8;

/** Protocol version carried by ConnectRequest/ConnectResponse (always 0 in ZooKeeper). */
export const ZK_PROTOCOL_VERSION = 0;

/**
 * Watcher kinds of removeWatches/checkWatches (Watcher.WatcherType in ZooKeeper 3.9, which adds
 * Persistent and PersistentRecursive to the Children/Data/Any of earlier versions). Modes of
 * addWatch are AddWatchMode in ../types.ts (PERSISTENT 0, PERSISTENT_RECURSIVE 1).
 */
export const JuteWatcherType = { Children: 1, Data: 2, Any: 3, Persistent: 4, PersistentRecursive: 5 } as const;
export type JuteWatcherType = (typeof JuteWatcherType)[keyof typeof JuteWatcherType];

/** ephemeralOwner of a container znode (EphemeralType.CONTAINER_EPHEMERAL_OWNER = Long.MIN_VALUE). */
export const CONTAINER_EPHEMERAL_OWNER = -(1n << 63n);

const EXTENDED_MASK = 0xff00_0000_0000_0000n;
const RESERVED_BITS_MASK = 0x00ff_ff00_0000_0000n;
/** Largest TTL (ms) a TTL znode may have: the low 40 bits of ephemeralOwner. */
export const TTL_MAX_MS = 0x0000_00ff_ffff_ffffn;

/**
 * ephemeralOwner ZooKeeper gives a TTL znode when extended types are enabled: the top byte all
 * ones, the 16 feature bits 0 (TTL) and the TTL in the low 40 bits. Throws RangeError outside 1..TTL_MAX_MS.
 */
export function ttlEphemeralOwner(ttlMs: bigint): bigint {
  if (ttlMs <= 0n || ttlMs > TTL_MAX_MS) throw new RangeError(`ttl must be in 1..${TTL_MAX_MS}: ${ttlMs}`);
  return BigInt.asIntN(64, EXTENDED_MASK | ttlMs);
}

/** What an ephemeralOwner value denotes, per EphemeralType.get with extended types enabled. */
export function ephemeralOwnerKind(owner: bigint): { kind: "none" } | { kind: "session"; sessionId: bigint } | { kind: "container" } | { kind: "ttl"; ttlMs: bigint } | { kind: "invalid" } {
  if (owner === 0n) return { kind: "none" };
  const u = BigInt.asUintN(64, owner);
  if ((u & EXTENDED_MASK) === EXTENDED_MASK) {
    return (u & RESERVED_BITS_MASK) === 0n ? { kind: "ttl", ttlMs: u & TTL_MAX_MS } : { kind: "invalid" };
  }
  if (owner === CONTAINER_EPHEMERAL_OWNER) return { kind: "container" };
  return { kind: "session", sessionId: owner };
}

/** Four-letter admin words a connection may send instead of a length prefix. */
export const FOUR_LETTER_WORDS: readonly string[] = Object.freeze([
  "ruok", "srvr", "stat", "mntr", "conf", "cons", "envi", "isro",
  "wchs", "wchc", "wchp", "dump", "crst", "srst", "dirs", "gtmk", "stmk", "hash",
]);
