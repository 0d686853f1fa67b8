// ZooKeeper's numeric codes, used everywhere in Keeper so that speaking ZooKeeper's own
// wire protocol is a thin codec rather than a translation layer.

/** Error codes (KeeperException.Code). */
export const Code = {
  OK: 0,
  SYSTEMERROR: -1,
  RUNTIMEINCONSISTENCY: -2,
  DATAINCONSISTENCY: -3,
  CONNECTIONLOSS: -4,
  MARSHALLINGERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATIONTIMEOUT: -7,
  BADARGUMENTS: -8,
  NEWCONFIGNOQUORUM: -13,
  RECONFIGINPROGRESS: -14,
  UNKNOWNSESSION: -12,
  APIERROR: -100,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NOCHILDRENFOREPHEMERALS: -108,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  INVALIDCALLBACK: -113,
  INVALIDACL: -114,
  AUTHFAILED: -115,
  SESSIONMOVED: -118,
  NOTREADONLY: -119,
  EPHEMERALONLOCALSESSION: -120,
  NOWATCHER: -121,
  REQUESTTIMEOUT: -122,
  RECONFIGDISABLED: -123,
  SESSIONCLOSEDREQUIRESASLAUTH: -124,
  QUOTAEXCEEDED: -125,
  THROTTLEDOP: -127,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

const codeNames = new Map<number, string>(Object.entries(Code).map(([name, value]) => [value, name]));

/** The upper-case name of a code, or `UNKNOWN(n)` for a number ZooKeeper does not define. */
export function codeName(code: number): string {
  return codeNames.get(code) ?? `UNKNOWN(${code})`;
}

const codeMessages: Partial<Record<Code, string>> = {
  [Code.NONODE]: "no node",
  [Code.NODEEXISTS]: "node already exists",
  [Code.BADVERSION]: "version does not match",
  [Code.NOTEMPTY]: "node has children",
  [Code.NOCHILDRENFOREPHEMERALS]: "ephemeral nodes may not have children",
  [Code.SESSIONEXPIRED]: "session expired",
  [Code.CONNECTIONLOSS]: "connection lost",
  [Code.BADARGUMENTS]: "bad arguments",
  [Code.MARSHALLINGERROR]: "malformed request",
  [Code.UNIMPLEMENTED]: "operation not implemented",
  [Code.OPERATIONTIMEOUT]: "operation timed out",
  [Code.NOTREADONLY]: "server is read-only",
  [Code.INVALIDACL]: "invalid ACL",
  [Code.NOAUTH]: "not authorised",
  [Code.RUNTIMEINCONSISTENCY]: "operation not run: an earlier operation of the multi failed",
  [Code.SYSTEMERROR]: "system error",
  [Code.EPHEMERALONLOCALSESSION]: "ephemeral nodes cannot be created by a local session",
};

/** The one error class at the edges: a ZooKeeper code plus a message that may change. */
export class KeeperError extends Error {
  readonly code: Code;
  readonly path: string | undefined;
  constructor(code: Code, detail?: string, path?: string) {
    const base = codeMessages[code] ?? codeName(code).toLowerCase();
    super(`${codeName(code)}: ${detail ?? base}${path === undefined ? "" : ` (${path})`}`);
    this.name = "KeeperError";
    this.code = code;
    this.path = path;
  }
  get codeName(): string {
    return codeName(this.code);
  }
}

/** Operation codes (ZooDefs.OpCode). */
export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;
export type OpCode = (typeof OpCode)[keyof typeof OpCode];

/** Watch event types (Watcher.Event.EventType). */
export const EventType = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** Connection states carried by watch events (Watcher.Event.KeeperState). */
export const KeeperState = {
  Disconnected: 0,
  SyncConnected: 3,
  AuthFailed: 4,
  ConnectedReadOnly: 5,
  SaslAuthenticated: 6,
  Expired: -112,
  Closed: 7,
} as const;
export type KeeperState = (typeof KeeperState)[keyof typeof KeeperState];
