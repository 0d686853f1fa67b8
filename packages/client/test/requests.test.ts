import { Code, CreateMode, type Request } from "@keeper/protocol";
import { describe, expect, it } from "vitest";
import { createRequest, fromServerResult, resolveCreateMode, toServerRequest, validateRequest, type CreateOptions } from "../src/requests.ts";

describe("resolveCreateMode()", () => {
  it.each<[CreateOptions, CreateMode]>([
    [{}, CreateMode.PERSISTENT],
    [{ ephemeral: true }, CreateMode.EPHEMERAL],
    [{ sequential: true }, CreateMode.PERSISTENT_SEQUENTIAL],
    [{ ephemeral: true, sequential: true }, CreateMode.EPHEMERAL_SEQUENTIAL],
    [{ mode: "container" }, CreateMode.CONTAINER],
    [{ mode: "ephemeral_sequential", ephemeral: true }, CreateMode.EPHEMERAL_SEQUENTIAL],
    [{ mode: CreateMode.EPHEMERAL }, CreateMode.EPHEMERAL],
    [{ ttlMs: 100 }, CreateMode.PERSISTENT_WITH_TTL],
    [{ mode: "persistent_sequential", ttlMs: 5 }, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL],
  ])("%j gives mode %i", (opts, mode) => {
    expect(resolveCreateMode(opts)).toBe(mode);
  });

  it.each<CreateOptions>([{ mode: "ephemeral", ephemeral: false }, { mode: "persistent", sequential: true }, { ephemeral: true, ttlMs: 10 }, { mode: CreateMode.PERSISTENT_WITH_TTL }, { mode: "bogus" as never }, { ttlMs: -1 }])(
    "%j is BADARGUMENTS",
    (opts) => {
      expect(() => resolveCreateMode(opts)).toThrow(expect.objectContaining({ code: Code.BADARGUMENTS }));
    },
  );
});

describe("validateRequest()", () => {
  it("allows a trailing slash only for sequential creates", () => {
    expect(() => validateRequest(createRequest("/a/", "", { sequential: true }))).not.toThrow();
    expect(() => validateRequest(createRequest("/a/", ""))).toThrow(expect.objectContaining({ code: Code.BADARGUMENTS }));
  });

  it.each(["", "a", "/a/", "/a//b", "/a/./b", "/a\u0000"])("rejects getData(%j)", (path) => {
    expect(() => validateRequest({ type: "getData", path, watch: false })).toThrow(expect.objectContaining({ code: Code.BADARGUMENTS }));
  });

  it("checks every op of a multi", () => {
    const multi: Request = { type: "multi", ops: [{ type: "check", path: "/ok", version: 1 }, { type: "delete", path: "bad", version: -1 }] };
    expect(() => validateRequest(multi)).toThrow(expect.objectContaining({ code: Code.BADARGUMENTS }));
  });
});

describe("chroot mapping", () => {
  it("prefixes every request path, multi ops and setWatches lists included", () => {
    const multi = toServerRequest({ type: "multi", ops: [{ type: "check", path: "/", version: 1 }, { type: "delete", path: "/x", version: -1 }] }, "/app");
    expect(multi).toMatchObject({ ops: [{ path: "/app" }, { path: "/app/x" }] });
    const sw = toServerRequest({ type: "setWatches", relativeZxid: 0 as never, dataWatches: ["/d"], existWatches: ["/"], childWatches: [] }, "/app");
    expect(sw).toMatchObject({ dataWatches: ["/app/d"], existWatches: ["/app"], childWatches: [] });
    expect(toServerRequest({ type: "ping" }, "/app")).toEqual({ type: "ping" });
  });

  it("strips the chroot from created paths, multi results included", () => {
    const stat = {} as never;
    expect(fromServerResult({ type: "create", path: "/app/x", stat }, "/app").path).toBe("/x");
    const res = fromServerResult({ type: "multi", results: [{ type: "create", path: "/app", stat }, { type: "error", err: Code.OK }] }, "/app");
    expect(res.results[0]).toMatchObject({ path: "/" });
  });
});
