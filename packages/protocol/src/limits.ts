// Every buffer, queue and map that grows with input has its maximum here, checked before it grows.

export const limits = {
  /** Largest znode data accepted, ZooKeeper's jute.maxbuffer default (configurable per server). */
  dataBytesMax: 1024 * 1024,
  /** Largest client frame: the data limit plus room for path, ACLs and framing. */
  frameBytesMax: 1024 * 1024 + 64 * 1024,
  /**
   * Largest reply a server builds (configurable as replyBytesMax): the frame a client can read,
   * ZooKeeper's jute.maxbuffer plus the same slack as frameBytesMax. A read whose reply would be
   * larger is refused with BADARGUMENTS instead of built.
   */
  replyBytesMax: 1024 * 1024 + 64 * 1024,
  /** Longest path accepted. */
  pathLengthMax: 4096,
  /** Ops in one multi. */
  multiOpsMax: 1000,
  /** ACL entries on one znode. */
  aclEntriesMax: 64,
  /** Watches one session may hold (each path/kind pair counts once). */
  watchesPerSessionMax: 100_000,
  /** Requests a session may have in flight before the server stops reading from it. */
  pendingRequestsPerSessionMax: 10_000,
  /**
   * Requests in flight on one server, all connections together, before it stops reading from
   * the connections that send more (ZooKeeper's globalOutstandingLimit; configurable as
   * globalOutstandingMax).
   */
  globalOutstandingMax: 1000,
  /** Paths in one setWatches request. */
  setWatchesPathsMax: 100_000,
  /** Sessions one server tracks. */
  sessionsMax: 60_000,
  /**
   * Identities one connection may hold, its address included. ZooKeeper sets no bound; a client
   * sending auth packets without end would grow a list that every ACL check and whoAmI walks,
   * and that the leader keeps for the session too.
   */
  identitiesPerConnectionMax: 32,
  /**
   * Bytes of one auth packet's credential (digest: "user:password"). The node a client is
   * connected to keeps its credentials for as long as the connection lives, to prove them
   * again to a new leader, so each one is bounded.
   */
  credentialBytesMax: 1024,
  /** Bytes of queued outbound frames per client before the connection is dropped as too slow. */
  outboundBytesMax: 64 * 1024 * 1024,
} as const;

export const PROTOCOL_VERSION = 1;
