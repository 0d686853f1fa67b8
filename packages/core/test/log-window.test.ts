// The in-memory log tail: committed entries kept for DIFFs are bounded in count and in bytes;
// uncommitted entries always stay.
import { OPEN_ACL_UNSAFE, asSessionId, makeZxid, type Zxid } from "@keeper/protocol";
import { describe, expect, it } from "vitest";
import { LogWindow, type Txn } from "../src/index.ts";

const z = (i: number): Zxid => makeZxid(1, i);
function setData(i: number, bytes: number): Txn {
  return { hdr: { zxid: z(i), time: i, sessionId: asSessionId(1), cxid: i }, body: { type: "setData", path: "/a", data: new Uint8Array(bytes), version: i } };
}
function create(i: number): Txn {
  return { hdr: { zxid: z(i), time: i, sessionId: asSessionId(1), cxid: i }, body: { type: "create", path: `/n${i}`, data: new Uint8Array(10), acl: [...OPEN_ACL_UNSAFE], ephemeralOwner: asSessionId(0) } };
}

describe("LogWindow", () => {
  it("keeps at most `keep` committed entries", () => {
    const log = new LogWindow();
    for (let i = 1; i <= 10; i++) log.append(create(i));
    log.compact(z(8), 3);
    expect(log.baseZxid).toBe(z(5));
    expect(log.after(z(5))!.map((t) => t.hdr.zxid)).toEqual([6, 7, 8, 9, 10].map(z));
  });

  it("with slack, drops from the front only once more than the slack is over, and never holds more than keepBytes", () => {
    const log = new LogWindow();
    for (let i = 1; i <= 10; i++) log.append(create(i));
    log.compact(z(10), 5, Infinity, 5);
    expect(log.length).toBe(10); // 5 over `keep`: within the slack, nothing moves
    log.append(create(11));
    log.compact(z(11), 5, Infinity, 5);
    expect(log.length).toBe(5); // 6 over: back down to `keep` in one step
    expect(log.baseZxid).toBe(z(6));
    const big = new LogWindow();
    for (let i = 1; i <= 10; i++) big.append(setData(i, 1000));
    big.compact(z(10), 1000, 2500, 1000);
    expect(big.length).toBe(2); // the byte bound ignores the slack
  });

  it("keeps committed entries within `keepBytes`: large writes leave a short window", () => {
    const log = new LogWindow();
    for (let i = 1; i <= 10; i++) log.append(setData(i, 1000));
    // 10 entries of about 1000 bytes, all committed, 2500 bytes allowed: two remain.
    log.compact(z(10), 1000, 2500);
    expect(log.length).toBe(2);
    expect(log.baseZxid).toBe(z(8));
    expect(log.byteSize).toBeLessThanOrEqual(2500);
    // A follower at zxid 5 is now beyond the window: it gets a SNAP.
    expect(log.after(z(5))).toBeUndefined();
  });

  it("never drops an uncommitted entry, whatever its size", () => {
    const log = new LogWindow();
    for (let i = 1; i <= 6; i++) log.append(setData(i, 10_000));
    log.compact(z(2), 1000, 100);
    expect(log.baseZxid).toBe(z(2));
    expect(log.after(z(2))!.map((t) => t.hdr.zxid)).toEqual([3, 4, 5, 6].map(z));
  });

  it("counts bytes through truncation and reset", () => {
    const log = new LogWindow();
    for (let i = 1; i <= 4; i++) log.append(setData(i, 500));
    const four = log.byteSize;
    log.truncateAfter(z(2));
    expect(log.byteSize).toBe(four / 2);
    log.append(setData(3, 500));
    expect(log.byteSize).toBe((four * 3) / 4);
    log.reset(z(9));
    expect(log.byteSize).toBe(0);
    expect(log.baseZxid).toBe(z(9));
  });

  it("countAfter() says how many entries follow a zxid (a follower's lag), across epochs, and nothing below the window", () => {
    const log = new LogWindow();
    for (let i = 1; i <= 5; i++) log.append(create(i));
    log.append({ ...create(6), hdr: { ...create(6).hdr, zxid: makeZxid(2, 1) } });
    expect(log.countAfter(z(5))).toBe(1);
    expect(log.countAfter(z(2))).toBe(4);
    expect(log.countAfter(makeZxid(2, 1))).toBe(0);
    log.compact(z(5), 2);
    expect(log.baseZxid).toBe(z(3));
    expect(log.countAfter(z(3))).toBe(3);
    expect(log.countAfter(z(2))).toBeUndefined();
  });
});

