// TLS for clients on a real node process: the native port as HTTPS (admin) and wss:// (the
// @keeper/client with `secure: true`), and the secure ZooKeeper port (secureClientPort) with
// kazoo's use_ssl=True. Certificates are made with openssl for the test (support/test-certs.ts).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type KeeperClient } from "@keeper/client";
import { freePort, runCli, tempDir } from "../support/processes.ts";
import { PYTHON } from "../support/zk-tools.ts";
import { httpsJson, makeTestCerts } from "../support/test-certs.ts";

const HOST = "127.0.0.1";

describe("client TLS", () => {
  const dir = tempDir("keeper-client-tls-");
  let ca: Buffer;
  let child: ReturnType<typeof runCli> | undefined;
  let output = "";
  let port = 0;
  let securePort = 0;
  let zkPort = 0;
  const clients: KeeperClient[] = [];

  beforeAll(async () => {
    const certs = makeTestCerts(dir.path);
    ca = certs.ca;
    [port, securePort, zkPort] = [await freePort(), await freePort(), await freePort()];
    child = runCli(["server", "--data-dir", dir.path, "--host", HOST, "--client-port", String(port), `--zk-port=${zkPort}`, "--secure-zk-port", String(securePort), "--client-tls-cert", certs.certPath, "--client-tls-key", certs.keyPath, "--log-level", "warn"]);
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await httpsJson(port, "/readyz", ca)).status === 200) break;
      } catch {
        // not up yet
      }
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the node did not serve HTTPS within 30 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child!.once("exit", r));
    }
    dir.cleanup();
  });

  it("serves admin over HTTPS and the native protocol over wss://, and nothing in clear on that port", async () => {
    const status = await httpsJson(port, "/status", ca);
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body).serving).toBe(true);
    await expect(fetch(`http://${HOST}:${port}/status`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    class TrustingTestCa extends WebSocket {
      constructor(url: string) {
        super(url, { ca });
      }
    }
    const c = await connect(`${HOST}:${port}`, { secure: true, WebSocket: TrustingTestCa as never, sessionTimeoutMs: 10_000 });
    clients.push(c);
    await c.create("/over-wss", "sealed");
    expect(new TextDecoder().decode((await c.getData("/over-wss")).data)).toBe("sealed");
    await expect(connect(`${HOST}:${port}`, { sessionTimeoutMs: 2_000, connectTimeoutMs: 2_000 })).rejects.toThrow();
  });

  it("speaks ZooKeeper's protocol over TLS to kazoo (use_ssl=True, the CA verified) on the secure port, and in clear on the plain one", () => {
    const script = [
      "import sys",
      "from kazoo.client import KazooClient",
      "zk = KazooClient(hosts=sys.argv[1], use_ssl=True, verify_certs=True, ca=sys.argv[2], timeout=10)",
      "zk.start(timeout=15)",
      "zk.create('/over-tls', b'kazoo')",
      "print(zk.get('/over-wss')[0].decode(), zk.get('/over-tls')[0].decode())",
      "zk.stop()",
    ].join("\n");
    const secure = spawnSync(PYTHON, ["-c", script, `${HOST}:${securePort}`, join(dir.path, "ca.pem")], { encoding: "utf8", timeout: 60_000 });
    expect(secure.stderr).not.toMatch(/Traceback/);
    expect(secure.stdout.trim()).toBe("sealed kazoo");
    const plain = spawnSync(PYTHON, ["-c", "import sys\nfrom kazoo.client import KazooClient\nzk = KazooClient(hosts=sys.argv[1], timeout=10)\nzk.start(timeout=15)\nprint(zk.get('/over-tls')[0].decode())\nzk.stop()", `${HOST}:${zkPort}`], { encoding: "utf8", timeout: 60_000 });
    expect(plain.stdout.trim()).toBe("kazoo");
  }, 120_000);
});
