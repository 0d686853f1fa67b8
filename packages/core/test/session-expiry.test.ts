// Session expiry by tick buckets: a session touched at t with timeout T expires at the first tick
// boundary at or after t + T, never before, and is reported once.
import { asSessionId, type SessionId } from "@keeper/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SessionExpiry } from "../src/index.ts";
import { RUNS } from "./arbitraries.ts";

const s1 = asSessionId(1);
const s2 = asSessionId(2);
const s3 = asSessionId(3);
const TICK_MS = 100;

describe("SessionExpiry", () => {
  it("rounds a deadline up to the next tick boundary", () => {
    const e = new SessionExpiry(TICK_MS, 0);
    e.touch(s1, 250, 0);
    e.touch(s2, 300, 0);
    e.touch(s3, 301, 0);
    expect([e.deadline(s1), e.deadline(s2), e.deadline(s3)]).toEqual([300, 300, 400]);
  });

  it("expires a bucket once its deadline is reached, not before", () => {
    const e = new SessionExpiry(TICK_MS, 0);
    e.touch(s1, 250, 0);
    e.touch(s2, 250, 10);
    e.touch(s3, 350, 0);
    expect(e.expire(299)).toEqual([]);
    expect(e.expire(300).sort()).toEqual([s1, s2]);
    expect(e.has(s1)).toBe(false);
    expect(e.has(s3)).toBe(true);
    expect(e.expire(399)).toEqual([]);
    expect(e.expire(10_000)).toEqual([s3]);
  });

  it("returns each session once", () => {
    const e = new SessionExpiry(TICK_MS, 0);
    e.touch(s1, 100, 0);
    expect(e.expire(500)).toEqual([s1]);
    expect(e.expire(500)).toEqual([]);
    expect(e.expire(10_000)).toEqual([]);
    expect(e.deadline(s1)).toBeUndefined();
  });

  it("a re-touch moves the deadline later", () => {
    const e = new SessionExpiry(TICK_MS, 0);
    e.touch(s1, 200, 0);
    e.touch(s1, 200, 150);
    expect(e.deadline(s1)).toBe(400);
    expect(e.expire(300)).toEqual([]);
    expect(e.expire(400)).toEqual([s1]);
  });

  it("a re-touch in the same bucket keeps the session once", () => {
    const e = new SessionExpiry(TICK_MS, 0);
    e.touch(s1, 200, 0);
    e.touch(s1, 150, 50);
    expect(e.expire(1000)).toEqual([s1]);
  });

  it("remove() stops tracking a session; removing twice or an unknown id is harmless", () => {
    const e = new SessionExpiry(TICK_MS, 0);
    e.touch(s1, 100, 0);
    e.touch(s2, 100, 0);
    e.remove(s1);
    e.remove(s1);
    e.remove(s3);
    expect(e.has(s1)).toBe(false);
    expect(e.expire(100)).toEqual([s2]);
  });

  it("a session touched again after it expired is tracked afresh", () => {
    const e = new SessionExpiry(TICK_MS, 0);
    e.touch(s1, 100, 0);
    expect(e.expire(100)).toEqual([s1]);
    e.touch(s1, 100, 150);
    expect(e.deadline(s1)).toBe(300);
    expect(e.expire(299)).toEqual([]);
    expect(e.expire(300)).toEqual([s1]);
  });

  it("starting between ticks, sessions still expire at their boundary", () => {
    const e = new SessionExpiry(TICK_MS, 1_234);
    e.touch(s1, 1_000, 1_234);
    expect(e.deadline(s1)).toBe(2_300);
    expect(e.expire(2_299)).toEqual([]);
    expect(e.expire(2_300)).toEqual([s1]);
  });

  type Action = { kind: "touch"; id: number; timeoutMs: number } | { kind: "remove"; id: number } | { kind: "advance"; ms: number };
  const action: fc.Arbitrary<Action> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant("touch" as const), id: fc.nat(5), timeoutMs: fc.integer({ min: 1, max: 1_000 }) }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant("remove" as const), id: fc.nat(5) }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 400 }) }), weight: 4 },
  );

  it("matches a naive model of deadlines rounded up to tick boundaries (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 250 }), fc.nat(10_000), fc.array(action, { maxLength: 80 }), (tickMs, start, actions) => {
        const e = new SessionExpiry(tickMs, start);
        const model = new Map<SessionId, number>();
        let now = start;
        for (const a of actions) {
          if (a.kind === "touch") {
            const id = asSessionId(a.id);
            e.touch(id, a.timeoutMs, now);
            model.set(id, Math.ceil((now + a.timeoutMs) / tickMs) * tickMs);
          } else if (a.kind === "remove") {
            e.remove(asSessionId(a.id));
            model.delete(asSessionId(a.id));
          } else {
            now += a.ms;
            const expired = e.expire(now);
            expect(new Set(expired).size).toBe(expired.length);
            const due = [...model].filter(([, d]) => d <= now).map(([id]) => id);
            // Nothing early: every expired session's deadline has passed; nothing late either.
            for (const id of expired) expect(model.get(id)).toBeLessThanOrEqual(now);
            expect([...expired].sort()).toEqual(due.sort());
            for (const id of due) model.delete(id);
          }
          for (let id = 0; id <= 5; id++) expect(e.deadline(asSessionId(id))).toBe(model.get(asSessionId(id)));
        }
      }),
      RUNS,
    );
  });
});
