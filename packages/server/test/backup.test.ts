// The backup file format and restore: every byte split decodes, any flipped bit or missing tail
// is caught, and a restored store boots to the backed-up state with epochs at its zxid's epoch.
import { readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ReplicatedState, SnapshotWriter, type Txn } from "@keeper/core";
import { OPEN_ACL_UNSAFE, asSessionId, makeZxid } from "@keeper/protocol";
import { BackupDecoder, BackupEncoder, BackupFormatError } from "../src/backup/format.ts";
import { BackupVerifier, restoreBackup } from "../src/backup/restore.ts";
import { Store } from "../src/storage/store.ts";
import { tempDir } from "./temp-dir.ts";

const enc = new TextEncoder();
function createTxn(epoch: number, counter: number, path: string): Txn {
  return { hdr: { zxid: makeZxid(epoch, counter), time: 1000 + counter, sessionId: asSessionId(0), cxid: counter }, body: { type: "create", path, data: enc.encode(path), acl: [...OPEN_ACL_UNSAFE], ephemeralOwner: asSessionId(0) } };
}

/** A state of `n` nodes at epoch 3, and its backup file written with small chunks (many frames). */
function backupOf(n: number, chunkBytes = 200): { state: ReplicatedState; file: Buffer } {
  const state = new ReplicatedState();
  for (let i = 0; i < n; i++) state.apply(createTxn(3, i + 1, `/n${i}`));
  const writer = new SnapshotWriter(state.tree, state.sessions, chunkBytes);
  writer.step(Infinity);
  const e = new BackupEncoder();
  const parts = [e.start(writer.zxid), ...writer.takeChunks().map((c) => e.chunk(c)), e.finish(writer.result().header)];
  return { state, file: Buffer.concat(parts) };
}

async function verify(pieces: Uint8Array[]) {
  const v = new BackupVerifier();
  for (const p of pieces) await v.push(p);
  return v.end();
}

const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

describe("backup format", () => {
  it("BackupDecoder gives the same items whatever the split of the bytes", () => {
    const { file } = backupOf(4, 60);
    const whole = new BackupDecoder().push(file);
    expect(whole.map((i) => i.type)).toEqual(["start", ...whole.slice(1, -2).map(() => "chunk"), "header", "end"]);
    for (let cut = 1; cut < file.length; cut++) {
      const d = new BackupDecoder();
      const items = [...d.push(file.subarray(0, cut)), ...d.push(file.subarray(cut))];
      d.end();
      expect(items).toEqual(whole);
    }
  });

  it("BackupVerifier returns the snapshot's zxid, digest and counts", async () => {
    const { state, file } = backupOf(30);
    const summary = await verify([file]);
    expect(summary).toMatchObject({ zxid: makeZxid(3, 30), digest: state.tree.digest(), nodes: state.tree.size, sessions: 0, bytes: file.length });
    expect(summary.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a flipped bit anywhere is caught", async () => {
    const { file } = backupOf(8);
    for (let at = 0; at < file.length; at += 7) {
      const bad = Buffer.from(file);
      bad[at]! ^= 0x10;
      await expect(verify([bad]), `bit flipped at ${at}`).rejects.toThrow();
    }
  });

  it("a truncated file, a foreign file and trailing bytes are refused with clear errors", async () => {
    const { file } = backupOf(8);
    await expect(verify([file.subarray(0, file.length - 1)])).rejects.toThrow(/truncated/);
    await expect(verify([file.subarray(0, file.length - 40)])).rejects.toThrow(/truncated/);
    await expect(verify([Buffer.from("PK\u0003\u0004 this is a zip file")])).rejects.toThrow(/not a Keeper backup/);
    await expect(verify([Buffer.concat([file, Buffer.from([1])])])).rejects.toThrow(BackupFormatError);
  });
});

describe("restoreBackup()", () => {
  it("seeds a store that boots to the backed-up state, with epochs at the snapshot's epoch", async () => {
    const { state, file } = backupOf(50, 1000);
    const dir = tempDir();
    dirs.push(dir);
    const storeDir = `${dir.path}/node2`;
    const summary = await restoreBackup([file.subarray(0, 100), file.subarray(100)], storeDir);
    expect(summary.zxid).toBe(state.lastZxid);
    const store = await Store.open(storeDir);
    try {
      const boot = await store.boot();
      expect(boot.state.lastZxid).toBe(state.lastZxid);
      expect(boot.state.tree.digest()).toBe(state.tree.digest());
      expect(boot.log).toEqual([]);
      expect({ accepted: boot.acceptedEpoch, current: boot.currentEpoch }).toEqual({ accepted: 3, current: 3 });
    } finally {
      await store.close();
    }
  });

  it("refuses a store directory that holds anything, and leaves nothing behind when the file is bad", async () => {
    const { file } = backupOf(20);
    const dir = tempDir();
    dirs.push(dir);
    await restoreBackup([file], `${dir.path}/node1`);
    await expect(restoreBackup([file], `${dir.path}/node1`)).rejects.toThrow(/is not empty/);
    const bad = Buffer.from(file);
    bad[bad.length - 50]! ^= 1;
    await expect(restoreBackup([bad], `${dir.path}/node2`)).rejects.toThrow();
    expect(readdirSync(dir.path)).toEqual(["node1"]);
  });
});
