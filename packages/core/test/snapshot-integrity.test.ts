// A snapshot's digest is checked as it loads: it must notice a changed ACL or session record,
// not only changed data, and snapshots written before ACLs were digested must still load.
import { describe, expect, it } from "vitest";
import { OPEN_ACL_UNSAFE, Perms, asSessionId, makeZxid, type Acl } from "@keeper/protocol";
import { ByteWriter, DecodeError, ReplicatedState, readSnapshot, readSnapshotHeader, writeSnapshot, type Txn } from "../src/index.ts";

const enc = new TextEncoder();
const READ_ONLY_ACL: Acl[] = [{ perms: Perms.READ, scheme: "world", id: "anyone" }];

function stateWith(acl: Acl[], password = "secret-pw"): ReplicatedState {
  const s = new ReplicatedState();
  const create: Txn = { hdr: { zxid: makeZxid(1, 1), time: 5, sessionId: asSessionId(0), cxid: 1 }, body: { type: "create", path: "/a", data: enc.encode("x"), acl, ephemeralOwner: asSessionId(0) } };
  const session: Txn = { hdr: { zxid: makeZxid(1, 2), time: 6, sessionId: asSessionId(77), cxid: 0 }, body: { type: "createSession", timeoutMs: 10_000, password: enc.encode(password) } };
  s.apply(create);
  s.apply(session);
  return s;
}

describe("snapshot integrity", () => {
  it("DataTree.digest() differs when only an ACL differs", () => {
    expect(stateWith(READ_ONLY_ACL).tree.digest()).not.toBe(stateWith([...OPEN_ACL_UNSAFE]).tree.digest());
  });

  it("readSnapshot() refuses a body whose ACL differs from the one its header's digest covers", () => {
    const good = writeSnapshot(stateWith([...OPEN_ACL_UNSAFE]).tree, stateWith([...OPEN_ACL_UNSAFE]).sessions);
    const flipped = writeSnapshot(stateWith(READ_ONLY_ACL).tree, stateWith(READ_ONLY_ACL).sessions);
    expect(() => readSnapshot(good.chunks[0]!, flipped.chunks.slice(1))).toThrow(/snapshot digest/);
    expect(readSnapshot(good.chunks[0]!, good.chunks.slice(1)).tree.digest()).toBe(good.meta.digest);
  });

  it("readSnapshot() refuses a body whose session record differs from the header's sessions digest", () => {
    const a = stateWith([...OPEN_ACL_UNSAFE], "password-a");
    const b = stateWith([...OPEN_ACL_UNSAFE], "password-b");
    const good = writeSnapshot(a.tree, a.sessions);
    const other = writeSnapshot(b.tree, b.sessions);
    expect(good.meta.sessionsDigest).not.toBe(other.meta.sessionsDigest);
    expect(() => readSnapshot(good.chunks[0]!, other.chunks.slice(1))).toThrow(DecodeError);
    expect(() => readSnapshot(good.chunks[0]!, other.chunks.slice(1))).toThrow(/sessions digest/);
  });

  it("a format 2 snapshot (digest without ACLs, no sessions digest) still loads and is still checked", () => {
    const s = stateWith(READ_ONLY_ACL);
    const { meta, chunks } = writeSnapshot(s.tree, s.sessions);
    const v2 = (digest: string) => new ByteWriter().u32(0x4b534e50).u8(2).num(meta.zxid).str(digest).u32(meta.nodes).u32(meta.sessions).u32(meta.chunks).finish();
    const legacyDigest = s.tree.digestWithoutAcls();
    expect(legacyDigest).not.toBe(meta.digest);
    expect(readSnapshotHeader(v2(legacyDigest))).toMatchObject({ format: 2, sessionsDigest: "" });
    const loaded = readSnapshot(v2(legacyDigest), chunks.slice(1));
    expect(loaded.tree.digest()).toBe(meta.digest);
    expect(loaded.tree.node("/a")!.acl).toEqual(READ_ONLY_ACL);
    expect(() => readSnapshot(v2(meta.digest), chunks.slice(1))).toThrow(/snapshot digest/);
  });
});
