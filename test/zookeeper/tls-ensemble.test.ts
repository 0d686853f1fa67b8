// A 3-node ensemble whose clients speak TLS only: every node serves ZooKeeper's protocol on a
// secure port (secureClientPort; the plain ZooKeeper port is off) and the native protocol and
// admin over wss:// and HTTPS. kazoo (use_ssl=True) and ZooKeeper's own zkCli.sh (the Java
// client with its Netty socket) write through one node and read through the others, each
// verifying the test CA and the name it dialled. A client certificate the nodes' client CA
// signed makes its holder x509:<subject DN> for ACLs, on either protocol, through any node.
// The nodes are run here rather than by
// support/ensemble.ts, whose status polling speaks plain HTTP.
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, connect, type KeeperClient } from "@keeper/client";
import { poll } from "../support/ensemble.ts";
import { freePort, runCli, tempDir } from "../support/processes.ts";
import { httpsJson, makeClientCert, makeTestCerts, type TestCerts } from "../support/test-certs.ts";
import { JAVA_DIR, PYTHON, ZKCLI, killAll, requireFile, run } from "../support/zk-tools.ts";

const HOST = "127.0.0.1";

interface TlsNode {
  id: number;
  port: number;
  securePort: number;
  peerPort: number;
  child: ReturnType<typeof runCli>;
  output: string;
}

/**
 * Debian's zookeeper.jar lists netty's buffer, handler and transport jars on its class path but
 * not netty-codec and netty-resolver, which only the Netty client socket (the one TLS needs)
 * loads; zkCli.sh sets its own class path, so they go on the boot class path.
 */
const NETTY_BOOT = ["buffer", "common", "handler", "transport", "codec", "resolver", "transport-native-unix-common"].map((j) => join(JAVA_DIR, `netty-${j}.jar`)).join(":");

describe("a 3-node ensemble with TLS for clients", () => {
  const dir = tempDir("keeper-tls-ensemble-");
  const nodes: TlsNode[] = [];
  const clients: KeeperClient[] = [];
  let certs: TestCerts;

  const status = async (n: TlsNode) => {
    try {
      const r = await httpsJson(n.port, "/status", certs.ca);
      return r.status === 200 ? (JSON.parse(r.body) as Record<string, any>) : undefined;
    } catch {
      return undefined;
    }
  };

  beforeAll(async () => {
    requireFile(ZKCLI, "zookeeper");
    certs = makeTestCerts(dir.path);
    const ports: number[] = [];
    while (ports.length < 9) {
      const p = await freePort(HOST);
      if (!ports.includes(p)) ports.push(p);
    }
    const peers = [1, 2, 3].map((id) => `${id}=${HOST}:${ports[6 + id - 1]}`).join(",");
    for (const id of [1, 2, 3]) {
      const [port, securePort, peerPort] = [ports[id - 1]!, ports[3 + id - 1]!, ports[6 + id - 1]!];
      const child = runCli(["server", "--server-id", String(id), "--data-dir", join(dir.path, `n${id}`), "--host", HOST, "--peer-host", HOST, "--peers", peers, "--client-port", String(port), "--zk-port=-1", "--secure-zk-port", String(securePort), "--client-tls-cert", certs.certPath, "--client-tls-key", certs.keyPath, "--client-tls-ca", certs.caPath, "--log-level", "warn"]);
      const node: TlsNode = { id, port, securePort, peerPort, child, output: "" };
      child.stdout!.on("data", (d) => (node.output += d));
      child.stderr!.on("data", (d) => (node.output += d));
      nodes.push(node);
    }
    // Every node serving, one of them the leader: seen over HTTPS with the test CA.
    await poll(
      async () => {
        const sts = await Promise.all(nodes.map(status));
        return sts.every((s) => s?.serving) && sts.filter((s) => s!.role === "leading").length === 1;
      },
      { timeoutMs: 45_000, intervalMs: 200, what: () => `a serving TLS ensemble:\n${nodes.map((n) => n.output).join("\n")}` },
    );
  }, 90_000);

  afterAll(async () => {
    killAll();
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.all(
      nodes.map(async (n) => {
        if (n.child.exitCode !== null || n.child.signalCode !== null) return;
        n.child.kill("SIGKILL");
        await new Promise((r) => n.child.once("exit", r));
      }),
    );
    dir.cleanup();
  });

  const leaderAndFollowers = async () => {
    const sts = await Promise.all(nodes.map(status));
    const leader = nodes.find((_, i) => sts[i]?.role === "leading")!;
    return { leader, followers: nodes.filter((n) => n !== leader) };
  };

  it("kazoo with use_ssl=True writes through a follower's secure port and reads the write on every node", async () => {
    const { followers } = await leaderAndFollowers();
    const script = [
      "import sys",
      "from kazoo.client import KazooClient",
      "def client(hosts):",
      "    zk = KazooClient(hosts=hosts, use_ssl=True, verify_certs=True, ca=sys.argv[1], timeout=10)",
      "    zk.start(timeout=15)",
      "    return zk",
      "w = client(sys.argv[2])",
      "w.create('/tls/kazoo', b'sealed', makepath=True)",
      "w.stop()",
      "for hosts in sys.argv[3:]:",
      "    r = client(hosts)",
      "    r.sync('/tls/kazoo')",
      "    print(hosts.split(':')[1], r.get('/tls/kazoo')[0].decode())",
      "    r.stop()",
    ].join("\n");
    const addr = (n: TlsNode) => `${HOST}:${n.securePort}`;
    const r = await run(PYTHON, ["-c", script, certs.caPath, addr(followers[0]!), ...nodes.map(addr)], { timeoutMs: 90_000 });
    expect(r.stderr).not.toMatch(/Traceback/);
    expect(r.stdout.trim().split("\n")).toEqual(nodes.map((n) => `${n.securePort} sealed`));
  }, 120_000);

  it("zkCli.sh (zookeeper.client.secure, the Netty socket, a PEM trust store) creates on one node and reads on another", async () => {
    const { leader, followers } = await leaderAndFollowers();
    const env = {
      CLIENT_JVMFLAGS: [
        `-Xbootclasspath/a:${NETTY_BOOT}`,
        "-Dzookeeper.client.secure=true",
        "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
        `-Dzookeeper.ssl.trustStore.location=${certs.caPath}`,
        "-Dzookeeper.ssl.trustStore.type=PEM",
      ].join(" "),
    };
    const zkCli = async (node: TlsNode, ...cmd: string[]) => {
      const r = await run(ZKCLI, ["-server", `${HOST}:${node.securePort}`, ...cmd], { timeoutMs: 60_000, env });
      return { code: r.code, out: (r.stdout + r.stderr).split("\n").filter((l) => l !== "" && !/^(SLF4J|WATCHER::|WatchedEvent state:SyncConnected type:None|Connecting to )/.test(l)).join("\n") };
    };
    expect(await zkCli(followers[1]!, "create", "/tls-zkcli", "java")).toEqual({ code: 0, out: "Created /tls-zkcli" });
    expect(await zkCli(leader, "get", "/tls-zkcli")).toEqual({ code: 0, out: "java" });
    expect(await zkCli(followers[0]!, "set", "/tls-zkcli", "again")).toEqual({ code: 0, out: "" });
    expect(await zkCli(followers[1]!, "get", "/tls-zkcli")).toMatchObject({ code: 0, out: expect.stringMatching(/^again$/m) });
    // Without the trust store the client refuses the node's certificate: the check is real.
    const untrusted = await run(ZKCLI, ["-server", `${HOST}:${leader.securePort}`, "get", "/tls-zkcli"], { timeoutMs: 60_000, env: { CLIENT_JVMFLAGS: env.CLIENT_JVMFLAGS.replace(/ -Dzookeeper\.ssl\.trustStore\.\S+/g, "") } });
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stdout + untrusted.stderr).not.toMatch(/^again$/m);
  }, 180_000);

  it("the native client over wss:// authenticates on a follower and writes a digest-protected node", async () => {
    const { followers } = await leaderAndFollowers();
    class TrustingTestCa extends WebSocket {
      constructor(url: string) {
        super(url, { ca: certs.ca });
      }
    }
    const owner = await connect(`${HOST}:${followers[0]!.port}`, { secure: true, WebSocket: TrustingTestCa as never, sessionTimeoutMs: 10_000 });
    clients.push(owner);
    await owner.addAuth("digest", "owner:pw");
    await owner.create("/tls-owned", "v", { acl: [{ perms: 31, scheme: "auth", id: "" }] });
    await owner.setData("/tls-owned", "by the owner over wss");
    expect(new TextDecoder().decode((await owner.getData("/tls-owned")).data)).toBe("by the owner over wss");
  }, 60_000);

  it("a client certificate is x509:<subject DN>: its holder writes an x509-protected node through any node, over wss and with kazoo; others may not", async () => {
    const { leader, followers } = await leaderAndFollowers();
    const alice = makeClientCert(dir.path, "alice", "/O=keeper test/CN=alice");
    const stranger = makeClientCert(dir.path, "stranger", "/O=keeper test/CN=mallory");
    const DN = "CN=alice,O=keeper test";
    const socketWith = (tls: { cert?: Buffer; key?: Buffer }) =>
      class extends WebSocket {
        constructor(url: string) {
          super(url, { ca: certs.ca, ...tls });
        }
      };
    const open = async (node: TlsNode, tls: { cert?: Buffer; key?: Buffer }) => {
      const c = await connect(`${HOST}:${node.port}`, { secure: true, WebSocket: socketWith(tls) as never, sessionTimeoutMs: 10_000 });
      clients.push(c);
      return c;
    };
    // Through a follower: the leader learns alice's certificate subject with her connection.
    const a = await open(followers[0]!, { cert: alice.cert, key: alice.key });
    expect(await a.whoAmI()).toContainEqual({ authScheme: "x509", user: DN });
    await a.create("/x509-owned", "v", { acl: [{ perms: 31, scheme: "x509", id: DN }] });
    await a.setData("/x509-owned", "alice over wss");
    const errCode = async (p: Promise<unknown>) => p.then(() => "OK", (e: { code?: unknown }) => e.code);
    const anonymous = await open(leader, {});
    const mallory = await open(followers[1]!, { cert: stranger.cert, key: stranger.key });
    expect(await anonymous.whoAmI()).not.toContainEqual(expect.objectContaining({ authScheme: "x509" }));
    for (const c of [anonymous, mallory]) {
      expect(await errCode(c.setData("/x509-owned", "not alice"))).toBe(Code.NOAUTH);
      expect(await errCode(c.getData("/x509-owned"))).toBe(Code.NOAUTH);
    }
    // kazoo with alice's certificate on the other follower's secure port, then without one.
    const script = [
      "import sys",
      "from kazoo.client import KazooClient",
      "from kazoo.exceptions import NoAuthError",
      "def client(**cert):",
      "    zk = KazooClient(hosts=sys.argv[1], use_ssl=True, verify_certs=True, ca=sys.argv[2], timeout=10, **cert)",
      "    zk.start(timeout=15)",
      "    return zk",
      "zk = client(certfile=sys.argv[3], keyfile=sys.argv[4])",
      "zk.set('/x509-owned', b'alice with kazoo')",
      "print(zk.get('/x509-owned')[0].decode())",
      "zk.stop()",
      "zk = client()",
      "try:",
      "    zk.set('/x509-owned', b'nobody')",
      "    print('set without a certificate')",
      "except NoAuthError:",
      "    print('NoAuthError')",
      "zk.stop()",
    ].join("\n");
    const r = await run(PYTHON, ["-c", script, `${HOST}:${followers[1]!.securePort}`, certs.caPath, alice.certPath, alice.keyPath], { timeoutMs: 90_000 });
    expect(r.stderr).not.toMatch(/Traceback/);
    expect(r.stdout.trim().split("\n")).toEqual(["alice with kazoo", "NoAuthError"]);
  }, 120_000);
});
