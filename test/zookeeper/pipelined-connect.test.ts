// Requests sent behind the connect request, before its reply: ZooKeeper's Netty client (the one
// zookeeper.client.secure needs) does this. ZooKeeper stops reading until the session is set
// up; Keeper holds them and answers them in order once it is (it used to close the connection:
// "the first frame must be a connect request", and zkCli over TLS only saw ConnectionLoss).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpCode, decodeConnectResponse, encodeConnectRequest, encodeZkRequest } from "@keeper/protocol";
import { poll, startEnsemble, type Ensemble } from "../support/ensemble.ts";
import { RawZk, concat } from "../support/zk-raw.ts";
import { zkPorts } from "../support/zk-tools.ts";

describe("a connect request with requests right behind it", () => {
  let e: Ensemble;
  let port: number;

  beforeAll(async () => {
    e = await startEnsemble({ size: 1, noWait: true });
    await poll(async () => (await e.nodes[0]!.status())?.serving === true, { timeoutMs: 20_000, what: "the single node serving" });
    port = (await zkPorts(e)).get(1)!;
  }, 60_000);

  afterAll(async () => {
    await e?.cleanup();
  });

  it("answers the connect, then each request in order, in one write", async () => {
    const c = await RawZk.open(port);
    try {
      const connect = encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0n, timeOut: 10_000, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false });
      const create = encodeZkRequest(1, { type: "create", path: "/pipelined", data: new TextEncoder().encode("early"), acl: [{ perms: 31, scheme: "world", id: "anyone" }], flags: 0 });
      const get = encodeZkRequest(2, { type: "getData", path: "/pipelined", watch: false });
      c.write(concat(connect, create, get));
      const first = await c.nextFrame();
      if (typeof first === "string") throw new Error(`no ConnectResponse: ${first}`);
      expect(decodeConnectResponse(first).sessionId).not.toBe(0n);
      expect(await c.reply(OpCode.create)).toMatchObject({ xid: 1, err: 0, body: { path: "/pipelined" } });
      const got = await c.reply(OpCode.getData);
      expect(got).toMatchObject({ xid: 2, err: 0 });
      expect(new TextDecoder().decode((got as { body: { data: Uint8Array } }).body.data)).toBe("early");
    } finally {
      c.end();
    }
  }, 30_000);
});
