import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type KeeperClient } from "@keeper/client";
import { Code, KeeperError } from "@keeper/protocol";
import { startServer, type RunningServer } from "../src/index.ts";
import { TEST_PEER_SECRET, freePort } from "../../../test/support/processes.ts";
import { tempDir } from "./temp-dir.ts";

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("read-only mode", () => {
  const dir = tempDir();
  const servers = new Map<number, RunningServer>();
  const clients: KeeperClient[] = [];
  let peers = "";
  const clientPorts: number[] = [];

  async function start(id: number): Promise<RunningServer> {
    const s = await startServer({ zkPort: -1, serverId: id, dataDir: `${dir.path}/n${id}`, host: "127.0.0.1", peerHost: "127.0.0.1", clientPort: clientPorts[id - 1]!, peers, peerSecret: TEST_PEER_SECRET, logLevel: "silent", tickMs: 50, minSessionTimeoutMs: 500 });
    servers.set(id, s);
    return s;
  }

  beforeAll(async () => {
    const peerPorts = [await freePort(), await freePort(), await freePort()];
    for (let i = 0; i < 3; i++) clientPorts.push(await freePort());
    peers = peerPorts.map((p, i) => `${i + 1}=127.0.0.1:${p}`).join(",");
    await Promise.all([1, 2, 3].map(start));
    await until(() => [...servers.values()].every((s) => s.status().serving === true));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await Promise.all([...servers.values()].map((s) => s.close()));
    dir.cleanup();
  });

  it("a node cut off from its quorum serves reads to read-only clients, refuses writes, and hands them back when it rejoins", async () => {
    const writer = await connect(clientPorts.map((p) => `127.0.0.1:${p}`).join(","), { sessionTimeoutMs: 2000 });
    clients.push(writer);
    await writer.create("/config", "v1");
    // Node 3 must have applied the write before it is cut off.
    await until(() => servers.get(3)!.status().lastZxid === servers.get(1)!.status().lastZxid);

    await Promise.all([servers.get(1)!.close(), servers.get(2)!.close()]);
    servers.delete(1);
    servers.delete(2);
    const lone = servers.get(3)!;
    await until(() => lone.status().state === "read-only");

    const ro = await connect(`127.0.0.1:${clientPorts[2]}`, { sessionTimeoutMs: 2000, canBeReadOnly: true, readOnlyProbeIntervalMs: 100 } as never);
    clients.push(ro);
    expect(ro.state).toBe("readOnly");
    expect(new TextDecoder().decode((await ro.getData("/config")).data)).toBe("v1");
    const refused = await ro.setData("/config", "v2").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KeeperError);
    expect((refused as KeeperError).code).toBe(Code.NOTREADONLY);
    const noEphemerals = await ro.create("/e", "", { ephemeral: true }).catch((e: unknown) => e);
    expect((noEphemerals as KeeperError).code).toBe(Code.NOTREADONLY);

    // A client that did not ask for read-only service is not served by this node.
    await expect(connect(`127.0.0.1:${clientPorts[2]}`, { sessionTimeoutMs: 2000, connectTimeoutMs: 600 })).rejects.toBeInstanceOf(KeeperError);

    await Promise.all([start(1), start(2)]);
    await until(() => lone.status().serving === true);
    await until(() => ro.state === "connected");
    await ro.setData("/config", "v2");
    expect(new TextDecoder().decode((await ro.getData("/config")).data)).toBe("v2");
  });
});
