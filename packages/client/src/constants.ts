// Defaults and maxima of the client in one place. Every queue the client keeps is bounded
// here and checked before it grows.

export const clientDefaults = {
  /** Session timeout asked of the server when the caller names none (ZooKeeper's usual 30 s). */
  sessionTimeoutMs: 30_000,
  /** Port used for a connect-string host written without one: node 1's native listener. */
  port: 8181,
  /** How often a read-only client looks for a read-write server in the background. */
  readOnlyProbeIntervalMs: 3_000,
  /** Longest close() waits for the server to answer closeSession before closing anyway. */
  closeReplyWaitMsMax: 2_000,
  /** Pause after every host of the list failed once, so a dead ensemble is not hammered. */
  roundBackoffMs: 50,
  /**
   * Longest pause between rounds; the backoff doubles up to this. An election takes a few
   * hundred milliseconds, so a longer cap mostly delays clients after a failover.
   */
  roundBackoffMsMax: 250,
  /** Shortest handshake wait per host, however small the session timeout is. */
  handshakeWaitMsMin: 100,
  /** Finest granularity of the heartbeat timer. */
  heartbeatTickMsMin: 10,
} as const;

export const clientLimits = {
  /** Requests waiting for a connection (issued while disconnected or while in-flight is full). */
  queuedRequestsMax: 10_000,
  /** Requests sent and not yet answered; matches the server's per-session maximum. */
  inFlightRequestsMax: 10_000,
  /** Watch registrations (path, kind) the client keeps; matches the server's per-session maximum. */
  watchesMax: 100_000,
  /** Listeners on one client event. */
  listenersMax: 1_000,
} as const;

/** Highest xid before it wraps back to 1; the wire field is an int32. */
export const XID_MAX = 0x7fff_ffff;
