import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { originChecker } from "../src/client/origins.ts";
import { startServer, type RunningServer } from "../src/index.ts";
import { tempDir } from "./temp-dir.ts";

describe("originChecker()", () => {
  it.each([
    ["", undefined, "127.0.0.1:8181", true],
    ["", "http://127.0.0.1:8181", "127.0.0.1:8181", true],
    ["", "https://evil.example", "127.0.0.1:8181", false],
    ["", "http://127.0.0.1:9999", "127.0.0.1:8181", false],
    ["https://app.example.com, http://localhost:3000/", "http://localhost:3000", "10.0.0.1:8181", true],
    ["https://app.example.com", "https://APP.example.com", "10.0.0.1:8181", true],
    ["https://app.example.com", "https://app.example.com.evil.example", "10.0.0.1:8181", false],
    ["*", "https://anything.example", "10.0.0.1:8181", true],
    ["", "null", "10.0.0.1:8181", false],
  ])("allowed %j: origin %j to host %s -> %s", (allowed, origin, host, ok) => {
    expect(originChecker(allowed)(origin, host)).toBe(ok);
  });
});

describe("the native port and browser origins", () => {
  const dir = tempDir();
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ zkPort: -1, serverId: 1, dataDir: dir.path, host: "127.0.0.1", clientPort: 0, logLevel: "silent", allowedOrigins: "https://app.example.com" });
  });
  afterAll(async () => {
    await server?.close();
    dir.cleanup();
  });

  const opens = (origin?: string) =>
    new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, origin ? { origin } : {});
      ws.once("open", () => {
        ws.close();
        resolve(true);
      });
      ws.once("error", () => resolve(false));
    });

  it("refuses a page from another origin, takes a listed one, the node's own pages and non-browser clients", async () => {
    expect(await opens("https://evil.example")).toBe(false);
    expect(await opens("https://app.example.com")).toBe(true);
    expect(await opens(`http://127.0.0.1:${server.port}`)).toBe(true);
    expect(await opens()).toBe(true);
  });
});
