// Shared set-up for the client tests: fake servers and clients that are all closed after
// each test, and a client whose host order is the connect string's own.

import { afterEach } from "vitest";
import { connect, type ClientOptions, type KeeperClient } from "../src/index.ts";
import { FakeServer } from "./fake-server.ts";
import type { FakeTree } from "./fake-tree.ts";

const servers: FakeServer[] = [];
const clients: KeeperClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

export async function startServer(tree?: FakeTree): Promise<FakeServer> {
  const server = await FakeServer.start(tree);
  servers.push(server);
  return server;
}

/** A random that keeps the shuffled host list in connect-string order. */
export const keepOrder = (): number => 0.999_999;

export async function connectTo(connectString: string, options: ClientOptions = {}): Promise<KeeperClient> {
  const client = await connect(connectString, { sessionTimeoutMs: 1_000, random: keepOrder, ...options });
  clients.push(client);
  return client;
}

/** Resolves when `client` reaches `state`. */
export function stateReached(client: KeeperClient, state: KeeperClient["state"]): Promise<void> {
  if (client.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const fn = (s: KeeperClient["state"]): void => {
      if (s !== state) return;
      client.off("state", fn);
      resolve();
    };
    client.on("state", fn);
  });
}

export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
