// The node-wide bound on requests in flight, on connections over fake transports: past the bound a
// connection that delivers a request stops reading, every paused connection reads again once half
// have been answered, replies keep their order, and a connection that goes away stops counting.
import { describe, expect, it } from "vitest";
import { Code, type ServerMessage, type Zxid } from "@keeper/protocol";
import { Connection, type ClientTransport } from "../src/client/connection.ts";
import { createNodeLogger } from "../src/logger.ts";
import { OutstandingRequests } from "../src/client/outstanding.ts";

const log = createNodeLogger(1, "silent");

class FakeTransport implements ClientTransport {
  readonly kind = "native" as const;
  readonly sent: number[] = [];
  paused = false;
  pauses = 0;
  resumes = 0;
  closed = false;
  bufferedBytes = 0;
  send(msg: ServerMessage): void {
    if (msg.kind === "response") this.sent.push(msg.xid);
  }
  close(): void {
    this.closed = true;
  }
  pause(): void {
    expect(this.paused).toBe(false);
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    expect(this.paused).toBe(true);
    this.paused = false;
    this.resumes++;
  }
}

const reply = (xid: number) => ({ kind: "response" as const, xid, zxid: 0 as Zxid, err: Code.OK });

function setup(max: number, n: number) {
  let pauses = 0;
  const outstanding = new OutstandingRequests(max, () => pauses++);
  const transports = Array.from({ length: n }, () => new FakeTransport());
  const conns = transports.map((t, i) => new Connection(t, `10.0.0.${i}:1`, log, outstanding));
  return { outstanding, transports, conns, pauses: () => pauses };
}

describe("OutstandingRequests with Connection", () => {
  it("pauses a connection that sends past the bound and resumes every paused one at half", () => {
    const { outstanding, transports, conns, pauses } = setup(4, 3);
    const [a, b, c] = conns as [Connection, Connection, Connection];
    // Writes stay in flight until complete(): a takes the node to its bound, not past it.
    for (let xid = 1; xid <= 4; xid++) a.enqueueWrite(xid);
    expect(outstanding.outstanding).toBe(4);
    expect(transports.map((t) => t.paused)).toEqual([false, false, false]);
    b.enqueueWrite(1);
    c.enqueueWrite(1);
    expect(transports.map((t) => t.paused)).toEqual([false, true, true]);
    expect(pauses()).toBe(2);
    // A paused connection still takes what was already read: nothing is dropped.
    b.enqueueWrite(2);
    expect(outstanding.outstanding).toBe(7);
    expect(pauses()).toBe(2);
    // 7 -> 3 answered: still above half of 4.
    for (const xid of [1, 2, 3, 4]) a.complete(xid, reply(xid));
    expect(outstanding.outstanding).toBe(3);
    expect(transports[1]!.paused).toBe(true);
    b.complete(1, reply(1));
    expect(outstanding.outstanding).toBe(2);
    expect(transports.map((t) => t.paused)).toEqual([false, false, false]);
    expect(transports.map((t) => t.resumes)).toEqual([0, 1, 1]);
    expect(outstanding.pausedCount).toBe(0);
  });

  it("keeps each connection's replies in request order while throttled", () => {
    const { transports, conns } = setup(2, 1);
    const a = conns[0]!;
    a.enqueueWrite(1);
    a.enqueueRead(2, () => reply(2));
    a.enqueueWrite(3);
    a.enqueueRead(4, () => reply(4));
    expect(transports[0]!.paused).toBe(true);
    a.complete(3, reply(3));
    expect(transports[0]!.sent).toEqual([]);
    a.complete(1, reply(1));
    expect(transports[0]!.sent).toEqual([1, 2, 3, 4]);
    expect(transports[0]!.paused).toBe(false);
  });

  it("past the bound, a connection with nothing in flight of its own keeps reading", () => {
    const { transports, conns } = setup(2, 2);
    const [a, b] = conns as [Connection, Connection];
    for (let xid = 1; xid <= 3; xid++) a.enqueueWrite(xid);
    expect(transports[0]!.paused).toBe(true);
    b.enqueueRead(1, () => reply(1));
    expect(transports[1]!.paused).toBe(false);
    expect(transports[1]!.sent).toEqual([1]);
  });

  it("a read answered at once is never outstanding", () => {
    const { outstanding, transports, conns } = setup(1, 1);
    for (let xid = 1; xid <= 100; xid++) conns[0]!.enqueueRead(xid, () => reply(xid));
    expect(outstanding.outstanding).toBe(0);
    expect(transports[0]!.pauses).toBe(0);
    expect(transports[0]!.sent).toHaveLength(100);
  });

  it("a connection that closes or goes away stops counting, and the others resume", () => {
    const { outstanding, transports, conns } = setup(2, 3);
    const [a, b, c] = conns as [Connection, Connection, Connection];
    a.enqueueWrite(1);
    a.enqueueWrite(2);
    a.enqueueWrite(3);
    b.enqueueWrite(1);
    expect(transports.map((t) => t.paused)).toEqual([true, true, false]);
    a.close(Code.CONNECTIONLOSS, "test");
    expect(outstanding.outstanding).toBe(1);
    expect(transports[1]!.paused).toBe(false);
    // A closed connection queues nothing more and is never answered.
    a.enqueueWrite(4);
    expect(a.complete(1, reply(1))).toBe(false);
    expect(outstanding.outstanding).toBe(1);
    c.enqueueWrite(1);
    c.enqueueWrite(2);
    expect(transports[2]!.paused).toBe(true);
    c.ended();
    b.ended();
    expect(outstanding.outstanding).toBe(0);
    expect(outstanding.pausedCount).toBe(0);
  });

  it("abandon() of a session's writes releases them", () => {
    const { outstanding, conns } = setup(10, 1);
    conns[0]!.enqueueWrite(1);
    conns[0]!.enqueueWrite(2);
    conns[0]!.abandon();
    expect(outstanding.outstanding).toBe(0);
  });

  it("resumes the socket only when neither its own backlog nor the node holds it", () => {
    // The per-connection backlog bound is limits.pendingRequestsPerSessionMax (10 000): the node bound
    // pauses first, and a resume by the node leaves a connection with a long backlog paused.
    const { transports, conns } = setup(20_000, 1);
    const a = conns[0]!;
    for (let xid = 1; xid <= 10_000; xid++) a.enqueueWrite(xid);
    expect(transports[0]!.paused).toBe(true);
    a.throttle(true);
    a.throttle(false);
    expect(transports[0]!.paused).toBe(true);
    for (let xid = 1; xid <= 5001; xid++) a.complete(xid, reply(xid));
    expect(transports[0]!.paused).toBe(false);
    expect(transports[0]!.sent).toHaveLength(5001);
  });
});
