// Digest auth on the native protocol (@keeper/client's addAuth), and the super user through it.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type KeeperClient } from "@keeper/client";
import { KeeperError, codeName } from "@keeper/protocol";
import { startServer, type RunningServer } from "../src/index.ts";
import { tempDir } from "./temp-dir.ts";

const digestId = (userPassword: string) => `${userPassword.split(":")[0]}:${createHash("sha1").update(userPassword).digest("base64")}`;
const code = (p: Promise<unknown>) => p.then(() => "OK", (e: unknown) => (e instanceof KeeperError ? codeName(e.code) : String(e)));

describe("native protocol auth", () => {
  const dir = tempDir();
  let server: RunningServer;
  const clients: KeeperClient[] = [];
  const client = async () => {
    const c = await connect(`127.0.0.1:${server.port}`, { sessionTimeoutMs: 10_000 });
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    server = await startServer({ zkPort: -1, serverId: 1, dataDir: dir.path, host: "127.0.0.1", clientPort: 0, logLevel: "silent", superDigest: digestId("super:letmein") });
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await server?.close();
    dir.cleanup();
  });

  it("addAuth() gives the session a digest identity that ACLs see, the super user included; unknown schemes are AUTHFAILED", async () => {
    const anon = await client();
    await anon.create("/owned", "v", { acl: [{ perms: 31, scheme: "digest", id: digestId("owner:pw") }] });
    expect(await code(anon.getData("/owned"))).toBe("NOAUTH");
    const owner = await client();
    await owner.addAuth("digest", "owner:pw");
    expect(new TextDecoder().decode((await owner.getData("/owned")).data)).toBe("v");
    expect(await code(owner.addAuth("kerberos", "x"))).toBe("AUTHFAILED");
    const root = await client();
    await root.addAuth("digest", "super:letmein");
    await root.setData("/owned", "by super");
    expect(await code(root.delete("/owned"))).toBe("OK");
  });
});
