// keeper.proto: Keeper's native client protocol, one message per binary WebSocket frame.
// It lives in a TypeScript string so the browser build of the client needs no file access;
// docs/protocol.md describes it. Field numbers are part of the protocol: never reuse one.
export const keeperProto = `
syntax = "proto3";
package keeper;

message Stat {
  uint64 czxid = 1; uint64 mzxid = 2; int64 ctime = 3; int64 mtime = 4;
  int32 version = 5; int32 cversion = 6; int32 aversion = 7; int64 ephemeralOwner = 8;
  int32 dataLength = 9; int32 numChildren = 10; uint64 pzxid = 11;
}
// nullScheme / nullId: the request carried a jute null there (ZooKeeper clients), not "".
message Acl { int32 perms = 1; string scheme = 2; string id = 3; bool nullScheme = 4; bool nullId = 5; }
message Empty {}

// Client -> server, first frame. sessionId 0 asks for a new session.
message ConnectRequest {
  uint32 protocolVersion = 1; uint64 sessionId = 2; bytes password = 3;
  uint32 timeoutMs = 4; uint64 lastZxidSeen = 5; bool canBeReadOnly = 6;
}
// Server -> client answer to ConnectRequest.
message ConnectResponse {
  uint32 protocolVersion = 1; uint64 sessionId = 2; bytes password = 3;
  uint32 timeoutMs = 4; bool readOnly = 5; uint64 lastZxid = 6; uint32 serverId = 7;
}
// Server -> client before it closes the connection: a ZooKeeper code and a reason.
message CloseNotice { int32 code = 1; string reason = 2; }

// nullData: ZooKeeper's null data (a jute null buffer), distinct from zero bytes; data is then empty.
message CreateRequest { string path = 1; bytes data = 2; repeated Acl acl = 3; int32 mode = 4; int64 ttlMs = 5; bool nullData = 6; }
message DeleteRequest { string path = 1; int32 version = 2; }
message PathWatchRequest { string path = 1; bool watch = 2; }
message SetDataRequest { string path = 1; bytes data = 2; int32 version = 3; bool nullData = 4; }
message CheckRequest { string path = 1; int32 version = 2; }
message PathRequest { string path = 1; }
message SetAclRequest { string path = 1; repeated Acl acl = 2; int32 version = 3; }
message MultiRequest { repeated Request ops = 1; }
message SetWatchesRequest {
  uint64 relativeZxid = 1; repeated string dataWatches = 2;
  repeated string existWatches = 3; repeated string childWatches = 4;
  repeated string persistentWatches = 5; repeated string persistentRecursiveWatches = 6;
}
message AddWatchRequest { string path = 1; int32 mode = 2; }
message RemoveWatchesRequest { string path = 1; int32 watcherType = 2; bool checkOnly = 3; }
message GetEphemeralsRequest { string prefix = 1; }
message ReadOp { string path = 1; bool children = 2; }
message MultiReadRequest { repeated ReadOp ops = 1; }
// Adds an identity to the session (scheme "digest": auth is "user:password"), as ZooKeeper's auth packet.
message AuthRequest { string scheme = 1; bytes auth = 2; }
// Keeper's own: raise path's sequential-child counter to at least next (needs ADMIN on path).
message SetSequenceRequest { string path = 1; int32 next = 2; }

message Request {
  int32 xid = 1;
  oneof op {
    CreateRequest create = 10; DeleteRequest delete = 11; PathWatchRequest exists = 12;
    PathWatchRequest getData = 13; SetDataRequest setData = 14; PathWatchRequest getChildren = 15;
    CheckRequest check = 16; MultiRequest multi = 17; PathRequest sync = 18; PathRequest getAcl = 19;
    SetAclRequest setAcl = 20; SetWatchesRequest setWatches = 21; Empty ping = 22; Empty closeSession = 23;
    PathRequest getAllChildrenNumber = 24; GetEphemeralsRequest getEphemerals = 25; AddWatchRequest addWatch = 26;
    RemoveWatchesRequest removeWatches = 27; MultiReadRequest multiRead = 28; Empty whoAmI = 29;
    AuthRequest auth = 30; SetSequenceRequest setSequence = 31;
  }
}

message CreateResult { string path = 1; Stat stat = 2; }
message StatResult { Stat stat = 1; }
message DataResult { bytes data = 1; Stat stat = 2; bool nullData = 3; }
message ChildrenResult { repeated string children = 1; Stat stat = 2; }
message AclResult { repeated Acl acl = 1; Stat stat = 2; }
message PathResult { string path = 1; }
message MultiResult { repeated Response results = 1; }
message CountResult { int32 count = 1; }
message PathsResult { repeated string paths = 1; }
message ReadOpResult { int32 err = 1; bytes data = 2; Stat stat = 3; repeated string children = 4; bool isChildren = 5; bool nullData = 6; }
message MultiReadResult { repeated ReadOpResult results = 1; }
message ClientInfo { string authScheme = 1; string user = 2; }
message WhoAmIResult { repeated ClientInfo clientInfo = 1; }

// err is a ZooKeeper error code; result is set only when err is 0 (or for a failed multi,
// whose per-op errors are in multi.results).
message Response {
  int32 xid = 1; uint64 zxid = 2; int32 err = 3;
  oneof result {
    CreateResult create = 10; Empty delete = 11; StatResult exists = 12; DataResult getData = 13;
    StatResult setData = 14; ChildrenResult getChildren = 15; Empty check = 16; MultiResult multi = 17;
    PathResult sync = 18; AclResult getAcl = 19; StatResult setAcl = 20; Empty setWatches = 21;
    Empty ping = 22; Empty closeSession = 23; CountResult getAllChildrenNumber = 24; PathsResult getEphemerals = 25;
    Empty addWatch = 26; Empty removeWatches = 27; MultiReadResult multiRead = 28; WhoAmIResult whoAmI = 29;
    Empty auth = 30; StatResult setSequence = 31;
  }
}

message WatchEvent { int32 type = 1; int32 state = 2; string path = 3; uint64 zxid = 4; }

// ---- Peer protocol (election + broadcast), one message per binary frame on the peer port.
// Transactions travel as bytes in the log's own record format.

// The handshake: hello (dialer, with its nonce), hello (acceptor, with its nonce and proof),
// proof (dialer), welcome (acceptor). See packages/server/src/peers/peer-auth.ts.
message PeerHello { uint32 serverId = 1; string peers = 2; uint32 protocolVersion = 3; bytes nonce = 4; bytes proof = 5; }
message PeerProof { bytes proof = 1; }
message PeerWelcome { }
message PeerRefusal { string reason = 1; }
message PeerVote { uint32 leader = 1; uint64 zxid = 2; uint64 epoch = 3; }
message PeerNotification { PeerVote vote = 1; uint64 round = 2; string state = 3; bool resyncing = 4; }
message PeerFollowerInfo { uint64 syncId = 1; uint64 acceptedEpoch = 2; uint64 lastZxid = 3; bool resyncing = 4; }
message PeerLeaderInfo { uint64 syncId = 1; uint64 epoch = 2; }
message PeerAckEpoch { uint64 syncId = 1; uint64 epoch = 2; uint64 currentEpoch = 3; uint64 lastZxid = 4; }
message PeerSnap { uint64 syncId = 1; uint64 zxid = 2; repeated bytes chunks = 3; }
message PeerSnapChunk { uint64 syncId = 1; bytes chunk = 2; }
message PeerTrunc { uint64 syncId = 1; uint64 zxid = 2; }
message PeerDiff { uint64 syncId = 1; repeated bytes txns = 2; }
message PeerNewLeader { uint64 syncId = 1; uint64 epoch = 2; uint64 zxid = 3; }
message PeerAck { uint64 syncId = 1; uint64 epoch = 2; uint64 zxid = 3; }
message PeerUpToDate { uint64 syncId = 1; uint64 epoch = 2; uint64 commitZxid = 3; string digest = 4; }
message PeerProposal { uint64 epoch = 1; bytes txn = 2; }
message PeerCommit { uint64 epoch = 1; uint64 zxid = 2; string digest = 3; }
message PeerDigestReport { uint64 zxid = 1; string digest = 2; }
message PeerPing { uint64 epoch = 1; uint64 commitZxid = 2; repeated uint64 sessions = 3; repeated PeerDigestReport digests = 4; string digest = 5; }
message PeerResync { uint64 epoch = 1; uint64 zxid = 2; }
// A forwarded write names its session and the origin's connection, never an identity (peer
// protocol 4 sent the client's identities as field 4 and a system flag as field 5; the leader
// now derives identities itself from the credentials a ForwardAuth carries).
message ForwardWrite { uint64 sessionId = 1; int32 cxid = 2; Request request = 3; reserved 4, 5; uint32 conn = 6; }
message ForwardCreateSession { int32 token = 1; uint32 timeoutMs = 2; bytes password = 3; }
message ForwardCloseSession { uint64 sessionId = 1; int32 cxid = 2; }
message ForwardBind { uint64 sessionId = 1; uint32 conn = 2; string address = 3; string certificate = 4; }
message ForwardAuth { uint64 sessionId = 1; uint32 conn = 2; string scheme = 3; bytes auth = 4; }
message ForwardUnbind { uint64 sessionId = 1; uint32 conn = 2; }
message PeerForward {
  uint64 epoch = 1;
  oneof req {
    ForwardWrite write = 2; ForwardCreateSession createSession = 3; ForwardCloseSession closeSession = 4;
    ForwardBind bind = 5; ForwardAuth auth = 6; ForwardUnbind unbind = 7;
  }
}

message PeerFrame {
  oneof msg {
    PeerHello hello = 1; PeerRefusal refusal = 2; PeerNotification notification = 3;
    PeerFollowerInfo followerInfo = 4; PeerLeaderInfo leaderInfo = 5; PeerAckEpoch ackEpoch = 6;
    PeerSnap snap = 7; PeerTrunc trunc = 8; PeerDiff diff = 9; PeerNewLeader newLeader = 10;
    PeerAck ack = 11; PeerUpToDate upToDate = 12; PeerProposal proposal = 13; PeerCommit commit = 14;
    PeerPing ping = 15; PeerForward forward = 16; PeerBatch batch = 17; PeerSnapChunk snapChunk = 18;
    PeerProof proof = 19; PeerWelcome welcome = 20; PeerResync resync = 21;
  }
}
// Messages produced in one turn of the event loop, each an encoded PeerFrame, in order.
message PeerBatch { repeated bytes frames = 1; }

message ClientFrame { oneof frame { ConnectRequest connect = 1; Request request = 2; } }
message ServerFrame { oneof frame { ConnectResponse connected = 1; Response response = 2; WatchEvent event = 3; CloseNotice close = 4; } }
`;
