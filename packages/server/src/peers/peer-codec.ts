// Peer messages <-> protobuf frames. Transactions ride as bytes in the log's record format.
import { decodeTxn, encodeTxn, asServerId, type DigestReport, type ForwardedRequest, type PeerMessage, type PeerRole, type ServerId, type WriteRequest } from "@keeper/core";
import { decodeHot, encodeBatch, encodeHot, isHot } from "./peer-hot-codec.ts";
import { FrameError, asSessionId, asZxid, protoRoot, requestFromObject, requestToObject, type SessionId } from "@keeper/protocol";

const PeerFrame = protoRoot.lookupType("keeper.PeerFrame");
const FORWARDED_TYPES: ReadonlySet<string> = new Set(["create", "delete", "setData", "setACL", "check", "multi", "sync", "setSequence"] satisfies Array<WriteRequest["type"]>);

export type PeerFrameMessage =
  /** The acceptor's hello also carries its proof (empty when the ensemble uses TLS alone). */
  | { kind: "hello"; serverId: ServerId; peers: string; protocolVersion: number; nonce: Uint8Array; proof?: Uint8Array }
  /** The dialer's answer to the acceptor's hello. */
  | { kind: "proof"; proof: Uint8Array }
  /** The acceptor took the link: from here on both sides exchange messages. */
  | { kind: "welcome" }
  | { kind: "refusal"; reason: string }
  | { kind: "message"; msg: PeerMessage }
  /** Encoded single-message frames sent together; decoded into `messages`. */
  | { kind: "batch"; frames: Uint8Array[] };

export type DecodedPeerFrame = Exclude<PeerFrameMessage, { kind: "batch" }> | { kind: "batch"; messages: PeerMessage[] };

type Obj = Record<string, any>;
const n = (v: unknown): number => (typeof v === "number" ? v : 0);
const z = (v: unknown) => asZxid(n(v));
const bytes = (v: unknown): Uint8Array => (v instanceof Uint8Array ? v : new Uint8Array());
const ROLES: readonly PeerRole[] = ["looking", "following", "leading"];

function forwardToWire(req: ForwardedRequest): Obj {
  switch (req.type) {
    case "write":
      return { write: { sessionId: req.sessionId, cxid: req.cxid, request: requestToObject(req.request), conn: req.conn } };
    case "bind":
      return { bind: { sessionId: req.sessionId, conn: req.conn, address: req.address, ...(req.certificate !== undefined ? { certificate: req.certificate } : {}) } };
    case "auth":
      return { auth: { sessionId: req.sessionId, conn: req.conn, scheme: req.scheme, auth: req.auth } };
    case "unbind":
      return { unbind: { sessionId: req.sessionId, conn: req.conn } };
    case "createSession":
      return { createSession: { token: req.token, timeoutMs: req.timeoutMs, password: req.password } };
    case "closeSession":
      return { closeSession: { sessionId: req.sessionId, cxid: req.cxid } };
  }
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");

function forwardFromWire(f: Obj): ForwardedRequest {
  const b: Obj = (typeof f.req === "string" ? f[f.req] : undefined) ?? {};
  const sessionId = asSessionId(n(b.sessionId));
  switch (f.req) {
    case "write": {
      const request = requestFromObject(b.request ?? {});
      // Only what the leader prepares travels; an auth or a read is answered where its client is.
      if (!FORWARDED_TYPES.has(request.type)) throw new FrameError(`a ${request.type} request is never forwarded`);
      return { type: "write", sessionId, conn: n(b.conn), cxid: n(b.cxid), request: request as WriteRequest };
    }
    case "bind":
      return { type: "bind", sessionId, conn: n(b.conn), address: str(b.address), ...(typeof b.certificate === "string" && b.certificate !== "" ? { certificate: b.certificate } : {}) };
    case "auth":
      return { type: "auth", sessionId, conn: n(b.conn), scheme: str(b.scheme), auth: bytes(b.auth) };
    case "unbind":
      return { type: "unbind", sessionId, conn: n(b.conn) };
    case "createSession":
      return { type: "createSession", token: n(b.token), timeoutMs: n(b.timeoutMs), password: bytes(b.password) };
    case "closeSession":
      return { type: "closeSession", sessionId, cxid: n(b.cxid) };
    default:
      throw new FrameError("forward carries no request");
  }
}

function messageToWire(m: PeerMessage): Obj {
  switch (m.type) {
    case "notification":
      return { notification: { vote: { leader: m.vote.leader, zxid: m.vote.zxid, epoch: m.vote.epoch }, round: m.round, state: m.state, ...(m.resyncing ? { resyncing: true } : {}) } };
    case "diff":
      return { diff: { syncId: m.syncId, txns: m.txns.map(encodeTxn) } };
    case "proposal":
      return { proposal: { epoch: m.epoch, txn: encodeTxn(m.txn) } };
    case "ping":
      return { ping: { epoch: m.epoch, commitZxid: m.commitZxid, sessions: m.sessions, ...(m.digest !== undefined ? { digest: m.digest } : {}), ...(m.digests ? { digests: m.digests } : {}) } };
    case "forward":
      return { forward: { epoch: m.epoch, ...forwardToWire(m.req) } };
    default: {
      const { type, ...rest } = m;
      return { [type]: rest };
    }
  }
}

function digestsFromWire(v: unknown): { digests?: DigestReport[] } {
  if (!Array.isArray(v) || v.length === 0) return {};
  return { digests: v.map((d: Obj) => ({ zxid: z(d.zxid), digest: typeof d.digest === "string" ? d.digest : "" })) };
}

function messageFromWire(which: string, b: Obj): PeerMessage {
  switch (which) {
    case "notification": {
      const v: Obj = b.vote ?? {};
      const state = ROLES.includes(b.state) ? (b.state as PeerRole) : "looking";
      return { type: "notification", vote: { leader: asServerId(n(v.leader)), zxid: z(v.zxid), epoch: n(v.epoch) }, round: n(b.round), state, ...(b.resyncing === true ? { resyncing: true } : {}) };
    }
    case "followerInfo":
      return { type: "followerInfo", syncId: n(b.syncId), acceptedEpoch: n(b.acceptedEpoch), lastZxid: z(b.lastZxid), ...(b.resyncing === true ? { resyncing: true } : {}) };
    case "leaderInfo":
      return { type: "leaderInfo", syncId: n(b.syncId), epoch: n(b.epoch) };
    case "ackEpoch":
      return { type: "ackEpoch", syncId: n(b.syncId), epoch: n(b.epoch), currentEpoch: n(b.currentEpoch), lastZxid: z(b.lastZxid) };
    case "snap":
      return { type: "snap", syncId: n(b.syncId), zxid: z(b.zxid), chunks: Array.isArray(b.chunks) ? b.chunks : [] };
    case "snapChunk":
      return { type: "snapChunk", syncId: n(b.syncId), chunk: b.chunk instanceof Uint8Array ? b.chunk : new Uint8Array() };
    case "trunc":
      return { type: "trunc", syncId: n(b.syncId), zxid: z(b.zxid) };
    case "diff":
      return { type: "diff", syncId: n(b.syncId), txns: (Array.isArray(b.txns) ? b.txns : []).map((t: Uint8Array) => decodeTxn(t)) };
    case "newLeader":
      return { type: "newLeader", syncId: n(b.syncId), epoch: n(b.epoch), zxid: z(b.zxid) };
    case "ack":
      return { type: "ack", syncId: n(b.syncId), epoch: n(b.epoch), zxid: z(b.zxid) };
    case "upToDate":
      return { type: "upToDate", syncId: n(b.syncId), epoch: n(b.epoch), commitZxid: z(b.commitZxid), ...(typeof b.digest === "string" && b.digest !== "" ? { digest: b.digest } : {}) };
    case "proposal":
      return { type: "proposal", epoch: n(b.epoch), txn: decodeTxn(b.txn instanceof Uint8Array ? b.txn : new Uint8Array()) };
    case "commit":
      return { type: "commit", epoch: n(b.epoch), zxid: z(b.zxid), ...(typeof b.digest === "string" && b.digest !== "" ? { digest: b.digest } : {}) };
    case "ping":
      return { type: "ping", epoch: n(b.epoch), commitZxid: z(b.commitZxid), sessions: (Array.isArray(b.sessions) ? b.sessions : []).map((s: number) => asSessionId(n(s)) as SessionId), ...(typeof b.digest === "string" && b.digest !== "" ? { digest: b.digest } : {}), ...digestsFromWire(b.digests) };
    case "resync":
      return { type: "resync", epoch: n(b.epoch), zxid: z(b.zxid) };
    case "forward":
      return { type: "forward", epoch: n(b.epoch), req: forwardFromWire(b) };
    default:
      throw new FrameError(`unknown peer message ${which}`);
  }
}

export function encodePeerFrame(f: PeerFrameMessage): Uint8Array {
  if (f.kind === "message" && isHot(f.msg)) return encodeHot(f.msg);
  if (f.kind === "batch") return encodeBatch(f.frames);
  const obj =
    f.kind === "hello" ? { hello: { serverId: f.serverId, peers: f.peers, protocolVersion: f.protocolVersion, nonce: f.nonce, ...(f.proof ? { proof: f.proof } : {}) } }
    : f.kind === "proof" ? { proof: { proof: f.proof } }
    : f.kind === "welcome" ? { welcome: {} }
    : f.kind === "refusal" ? { refusal: { reason: f.reason } }
    : messageToWire(f.msg);
  return PeerFrame.encode(PeerFrame.fromObject(obj)).finish();
}

function batchMessages(frames: readonly unknown[], nested: boolean): PeerMessage[] {
  if (nested) throw new FrameError("a batch inside a batch");
  return frames.map((bytes) => {
    const inner = decodePeerFrame(bytes as Uint8Array, true);
    if (inner.kind !== "message") throw new FrameError(`a ${inner.kind} inside a batch`);
    return inner.msg;
  });
}

/**
 * Decodes one peer frame; anything malformed is a FrameError (the link is then dropped). The
 * broadcast's messages and batches take the hand-written path (peer-hot-codec.ts).
 */
export function decodePeerFrame(data: Uint8Array, nested = false): DecodedPeerFrame {
  let hot: ReturnType<typeof decodeHot>;
  try {
    hot = decodeHot(data);
  } catch (e) {
    throw new FrameError(`undecodable peer frame: ${(e as Error).message}`);
  }
  if (hot?.kind === "message") return hot;
  if (hot?.kind === "batch") return { kind: "batch", messages: batchMessages(hot.frames, nested) };
  let f: Obj;
  try {
    f = PeerFrame.toObject(PeerFrame.decode(data), { oneofs: true, defaults: false, bytes: Uint8Array as never }) as Obj;
  } catch (e) {
    throw new FrameError(`undecodable peer frame: ${(e as Error).message}`);
  }
  const which: string | undefined = f.msg;
  try {
    if (which === "hello") {
      const h: Obj = f.hello ?? {};
      return { kind: "hello", serverId: asServerId(n(h.serverId)), peers: typeof h.peers === "string" ? h.peers : "", protocolVersion: n(h.protocolVersion), nonce: bytes(h.nonce), proof: bytes(h.proof) };
    }
    if (which === "proof") return { kind: "proof", proof: bytes(f.proof?.proof) };
    if (which === "welcome") return { kind: "welcome" };
    if (which === "refusal") return { kind: "refusal", reason: typeof f.refusal?.reason === "string" ? f.refusal.reason : "" };
    if (which === undefined) throw new FrameError("empty peer frame");
    if (which === "batch") return { kind: "batch", messages: batchMessages(Array.isArray(f.batch?.frames) ? f.batch.frames : [], nested) };
    return { kind: "message", msg: messageFromWire(which, f[which] ?? {}) };
  } catch (e) {
    if (e instanceof FrameError) throw e;
    throw new FrameError(`bad peer frame: ${(e as Error).message}`);
  }
}
