// SessionAuth (the leader's record of who each attached session proved to be) and
// AttachedConnections (what the node holding the connection keeps to prove it again), as rules.
import { describe, expect, it } from "vitest";
import { asSessionId, limits, type Identity } from "@keeper/protocol";
import { AttachedConnections, SessionAuth, asServerId } from "../src/index.ts";
import { fakeCredentials } from "./fake-credentials.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const S = asSessionId(0x1_0000_0001);
const F1 = asServerId(1);
const F2 = asServerId(2);
const at = (origin = F1, conn = 7) => ({ origin, conn });
const cred = (s: string) => enc.encode(s);
const sorted = (ids: readonly Identity[]) => [...ids].sort((a, b) => `${a.scheme}:${a.id}`.localeCompare(`${b.scheme}:${b.id}`));

function bound(): SessionAuth {
  const t = new SessionAuth(fakeCredentials);
  expect(t.bind(S, at(), "10.0.0.5", true)).toBeUndefined();
  return t;
}

describe("SessionAuth", () => {
  it("identities() of a bound connection: its address, then what its credentials proved", () => {
    const t = bound();
    expect(t.identities(S, at())).toEqual([{ scheme: "ip", id: "10.0.0.5" }]);
    expect(t.authenticate(S, at(), "digest", cred("alice:pw"))).toEqual({ kind: "ok", added: 1 });
    expect(sorted(t.identities(S, at()))).toEqual([{ scheme: "digest", id: "alice:wp" }, { scheme: "ip", id: "10.0.0.5" }]);
  });

  it.each([
    ["another connection of the same node", at(F1, 8)],
    ["the same connection number on another node", at(F2, 7)],
  ])("identities() for %s: none at all, whatever was proved on the bound one", (_what, other) => {
    const t = bound();
    t.authenticate(S, at(), "digest", cred("alice:pw"));
    expect(t.identities(S, other)).toEqual([]);
    expect(t.authenticate(S, other, "digest", cred("bob:pw"))).toMatchObject({ kind: "refused" });
    expect(t.identities(asSessionId(99), at())).toEqual([]);
  });

  it("a new attachment starts afresh with its address only (auth is per connection)", () => {
    const t = bound();
    t.authenticate(S, at(), "digest", cred("alice:pw"));
    t.bind(S, at(F2, 3), "10.0.0.9", true);
    expect(t.identities(S, at(F2, 3))).toEqual([{ scheme: "ip", id: "10.0.0.9" }]);
    expect(t.identities(S, at())).toEqual([]);
    // The old connection closing later does not unbind the new one.
    t.unbind(S, at());
    expect(t.identities(S, at(F2, 3))).toHaveLength(1);
    t.unbind(S, at(F2, 3));
    expect(t.size).toBe(0);
  });

  it.each<[string, string, Uint8Array]>([
    ["an unknown scheme", "x509", cred("CN=alice")],
    ["a claim of the super user by name", "super", cred("")],
    ["a digest credential without a user", "digest", cred(":pw")],
    ["a credential over credentialBytesMax", "digest", cred(`u:${"p".repeat(limits.credentialBytesMax)}`)],
  ])("authenticate() refuses %s and adds nothing", (_what, scheme, auth) => {
    const t = bound();
    expect(t.authenticate(S, at(), scheme, auth)).toMatchObject({ kind: "refused" });
    expect(t.identities(S, at())).toEqual([{ scheme: "ip", id: "10.0.0.5" }]);
  });

  it("the super user comes only from a credential the check says proves it", () => {
    const t = bound();
    t.authenticate(S, at(), "digest", cred("root:x"));
    expect(t.identities(S, at())).toContainEqual({ scheme: "super", id: "" });
    expect(new SessionAuth(undefined).authenticate(S, at(), "digest", cred("root:x"))).toMatchObject({ kind: "refused" });
  });

  it("bind() with a certificate subject: the connection is x509:<subject> too, until it is replaced", () => {
    const t = new SessionAuth(fakeCredentials);
    expect(t.bind(S, at(), "10.0.0.5", true, "CN=alice,O=acme")).toBeUndefined();
    expect(sorted(t.identities(S, at()))).toEqual([{ scheme: "ip", id: "10.0.0.5" }, { scheme: "x509", id: "CN=alice,O=acme" }]);
    t.bind(S, at(F1, 8), "10.0.0.5", true);
    expect(t.identities(S, at(F1, 8))).toEqual([{ scheme: "ip", id: "10.0.0.5" }]);
    expect(t.bind(S, at(), "10.0.0.5", true, "")).toMatch(/not a certificate subject/);
    expect(t.bind(S, at(), "10.0.0.5", true, "C".repeat(1025))).toMatch(/not a certificate subject/);
  });

  it("bind() refuses a session that does not exist and an address that is not one", () => {
    const t = new SessionAuth(fakeCredentials);
    expect(t.bind(S, at(), "10.0.0.5", false)).toMatch(/does not exist/);
    expect(t.bind(S, at(), "10.0.0.5,digest:alice", true)).toMatch(/not an address/);
    expect(t.bind(S, at(), "", true)).toMatch(/not an address/);
    expect(t.size).toBe(0);
  });

  it("holds at most identitiesPerConnectionMax identities per connection, duplicates once", () => {
    const t = bound();
    expect(t.authenticate(S, at(), "digest", cred("alice:pw"))).toEqual({ kind: "ok", added: 1 });
    expect(t.authenticate(S, at(), "digest", cred("alice:pw"))).toEqual({ kind: "ok", added: 0 });
    for (let i = 2; i < limits.identitiesPerConnectionMax; i++) expect(t.authenticate(S, at(), "digest", cred(`u${i}:pw`)).kind).toBe("ok");
    expect(t.identities(S, at())).toHaveLength(limits.identitiesPerConnectionMax);
    expect(t.authenticate(S, at(), "digest", cred("one:more"))).toMatchObject({ kind: "refused", reason: /at most/ });
  });

  it("forgetOrigin() drops that node's attachments only; forgetSession() the session's", () => {
    const t = bound();
    const S2 = asSessionId(0x1_0000_0002);
    t.bind(S2, at(F2, 1), "10.0.0.6", true);
    t.forgetOrigin(F1);
    expect(t.identities(S, at())).toEqual([]);
    expect(t.identities(S2, at(F2, 1))).toHaveLength(1);
    t.forgetSession(S2);
    expect(t.size).toBe(0);
  });
});

describe("AttachedConnections", () => {
  it("registrations() replays each attachment, then its credentials in the order sent", () => {
    const a = new AttachedConnections();
    const S2 = asSessionId(5);
    expect(a.bind(S, 7, "10.0.0.5")).toEqual({ type: "bind", sessionId: S, conn: 7, address: "10.0.0.5" });
    expect(a.credential(S, 7, "digest", cred("alice:pw"))).toMatchObject({ type: "auth", conn: 7 });
    a.credential(S, 7, "digest", cred("bob:pw"));
    a.bind(S2, 8, "10.0.0.6");
    expect([...a.registrations()].map((r) => (r.type === "auth" ? `auth ${r.sessionId} ${dec.decode(r.auth)}` : `${r.type} ${r.sessionId} ${r.conn}`))).toEqual([`bind ${S} 7`, `auth ${S} alice:pw`, `auth ${S} bob:pw`, `bind ${S2} 8`]);
  });

  it("a credential or unbind for a connection that is not the session's is ignored", () => {
    const a = new AttachedConnections();
    a.bind(S, 7, "10.0.0.5");
    a.bind(S, 9, "10.0.0.5");
    expect(a.credential(S, 7, "digest", cred("alice:pw"))).toBeUndefined();
    expect(a.unbind(S, 7)).toBeUndefined();
    expect(a.unbind(S, 9)).toEqual({ type: "unbind", sessionId: S, conn: 9 });
    expect(a.size).toBe(0);
    expect([...a.registrations()]).toEqual([]);
  });

  it("keeps at most identitiesPerConnectionMax credentials per connection", () => {
    const a = new AttachedConnections();
    a.bind(S, 7, "10.0.0.5");
    for (let i = 0; i < limits.identitiesPerConnectionMax; i++) expect(a.credential(S, 7, "digest", cred(`u${i}:pw`))).toBeDefined();
    expect(a.credential(S, 7, "digest", cred("one:more"))).toBeUndefined();
  });
});
