// A forwarded write as peer protocol 4 sent it: with the client's identities (field 4) and a
// system flag (field 5) beside the request. Protocol 5 reserves both fields; tests send this
// shape to show that a leader no longer takes identities from a peer's word.
import protobuf from "protobufjs";
import { keeperProto } from "../../packages/protocol/src/keeper-proto.ts";
import { requestToObject, type Identity } from "@keeper/protocol";
import type { WriteRequest } from "@keeper/core";

const CURRENT = /message ForwardWrite \{[^}]*\}/;
const LEGACY = "message ForwardWrite { uint64 sessionId = 1; int32 cxid = 2; Request request = 3; repeated Identity ids = 4; bool system = 5; uint32 conn = 6; }";
const IDENTITY = "message Identity { string scheme = 1; string id = 2; }";

let frame: protobuf.Type | undefined;

function legacyFrameType(): protobuf.Type {
  if (frame) return frame;
  if (!CURRENT.test(keeperProto)) throw new Error("keeper.proto has no ForwardWrite message to replace");
  const legacy = keeperProto.replace(CURRENT, keeperProto.includes(IDENTITY) ? LEGACY : `${IDENTITY}\n${LEGACY}`);
  frame = protobuf.parse(legacy, { keepCase: true }).root.lookupType("keeper.PeerFrame");
  return frame;
}

/** An encoded PeerFrame: a forward of `request` for `sessionId` that claims `ids` (and `system`). */
export function legacyForwardFrame(opts: { epoch: number; sessionId: number; cxid: number; request: WriteRequest; ids: Identity[]; system?: boolean; conn?: number }): Uint8Array {
  const type = legacyFrameType();
  const write = { sessionId: opts.sessionId, cxid: opts.cxid, request: requestToObject(opts.request), ids: opts.ids, system: opts.system ?? false, conn: opts.conn ?? 0 };
  return type.encode(type.fromObject({ forward: { epoch: opts.epoch, write } })).finish();
}
