// The built-in dashboard in a real browser: Debian's headless Chromium driven by playwright-core,
// against a 3-node ensemble of real processes. The page is served by the leader; it shows the
// ensemble, traffic, the tree (children, data as text, JSON and hex, Stat, ACL) and a watch
// event; then the leader is SIGKILLed with the page open, and the page shows the dead node, the
// new leader, its client back and new watch events. With KEEPER_UPDATE_SCREENSHOTS=1 it also
// writes the screenshots in docs/images/.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import type { KeeperClient } from "@keeper/client";
import { startEnsemble, type Ensemble, type EnsembleNode } from "../support/ensemble.ts";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = process.env.KEEPER_UPDATE_SCREENSHOTS === "1" ? join(import.meta.dirname, "../../docs/images") : undefined;
const CONFIG = { replicas: 3, name: "keeper", features: ["watches", "acl"] };

describe("the dashboard at GET /", () => {
  let e: Ensemble;
  let browser: Browser;
  let page: Page;
  let writer: KeeperClient;
  let leader: EnsembleNode;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (bash .ci/run does: apt-get install -y chromium)`);
    e = await startEnsemble({ size: 3 });
    leader = (await e.waitForLeader()).node;
    writer = await e.connect({ requestTimeoutMs: 8_000 });
    await writer.create("/app");
    await writer.create("/app/config", JSON.stringify(CONFIG));
    await writer.create("/app/blob", new Uint8Array([0, 1, 2, 0xfe, 0xff, 0x41]));
    for (let i = 0; i < 5; i++) await writer.create(`/app/worker-${i}`, `w${i}`);
    // Running as root (CI containers) needs --no-sandbox.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 980 } });
    page.on("pageerror", (err) => pageErrors.push(err.message));
    const addresses = e.nodes.map((n) => n.address).join(",");
    await page.goto(`http://${leader.address}/?ensemble=${addresses}`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await e?.cleanup();
  });

  beforeEach(() => {
    onTestFailed(async () => {
      console.error("page errors:", pageErrors);
      console.error(await page?.locator("body").innerText().catch(() => "(no page)"));
    });
  });

  const row = (n: EnsembleNode) => page.locator(`[data-testid=nodes] tr[data-address="${n.address}"]`);

  it("shows every node with its role, epoch, zxid, lag, sessions and clients", async () => {
    await expect.poll(() => page.locator("[data-testid=nodes] tr").count(), { timeout: 20_000 }).toBe(3);
    await expect.poll(() => row(leader).getAttribute("data-role"), { timeout: 20_000 }).toBe("leading");
    for (const n of e.nodes.filter((x) => x !== leader)) {
      await expect.poll(() => row(n).getAttribute("data-role"), { timeout: 20_000 }).toBe("following");
      // Idle and converged: the leader sees each follower 0 transactions behind.
      await expect.poll(() => row(n).innerText(), { timeout: 20_000 }).toContain("0 txns");
    }
    // The row shows what the node's /status says (the page polls once a second, so compare
    // until a poll has caught up with the last transaction, e.g. the page's own session).
    await expect
      .poll(
        async () => {
          const status = (await e.node(leader.id).status())!;
          const cells = (await row(leader).innerText()).split("\t");
          return cells[4] === String(status.epoch) && cells[5] === `0x${(status.lastZxid as number).toString(16)}`;
        },
        { timeout: 10_000 },
      )
      .toBe(true);
    await expect.poll(() => page.getByTestId("summary").innerText(), { timeout: 10_000 }).toContain(`leader: node ${leader.id}`);
    expect(pageErrors).toEqual([]);
  });

  it("browses the tree: children, data as text, JSON and hex, Stat and ACL", async () => {
    await expect.poll(() => page.getByTestId("client-state").innerText(), { timeout: 20_000 }).toBe("connected");
    await page.locator('[data-testid=children] a[data-path="/app"]').click();
    await expect.poll(() => page.locator("[data-testid=children] a").allInnerTexts(), { timeout: 10_000 }).toEqual(["blob", "config", "worker-0", "worker-1", "worker-2", "worker-3", "worker-4"]);
    await page.locator('[data-testid=children] a[data-path="/app/config"]').click();
    await expect.poll(() => page.getByTestId("data").innerText(), { timeout: 10_000 }).toBe(JSON.stringify(CONFIG));
    await page.getByRole("button", { name: "JSON" }).click();
    expect(await page.getByTestId("data").innerText()).toBe(JSON.stringify(CONFIG, null, 2));
    const stat = await page.getByTestId("stat").innerText();
    expect(stat).toMatch(/dataLength\s+\d+/);
    expect(stat).toContain(String(JSON.stringify(CONFIG).length));
    expect(await page.getByTestId("acl").innerText()).toBe("'world,'anyone\n: cdrwa");
    await page.getByTestId("crumbs").getByText("app", { exact: true }).click();
    await page.locator('[data-testid=children] a[data-path="/app/blob"]').click();
    await page.getByRole("button", { name: "hex" }).click();
    await expect.poll(() => page.getByTestId("data").innerText(), { timeout: 10_000 }).toBe(`00000000  00 01 02 fe ff 41${" ".repeat(32)}.....A`);
    // Back to the JSON znode for the watch tests.
    await page.getByRole("button", { name: "text" }).click();
    await page.getByTestId("crumbs").getByText("app", { exact: true }).click();
    await page.locator('[data-testid=children] a[data-path="/app/config"]').click();
    await expect.poll(() => page.getByTestId("data").innerText(), { timeout: 10_000 }).toBe(JSON.stringify(CONFIG));
  });

  it("shows a watch event on the znode it shows, and the new data, as soon as another client changes it", async () => {
    await writer.setData("/app/config", '{"replicas":5}');
    await expect.poll(() => page.getByTestId("events").innerText(), { timeout: 10_000 }).toContain("NodeDataChanged /app/config");
    await expect.poll(() => page.getByTestId("data").innerText(), { timeout: 10_000 }).toBe('{"replicas":5}');
  });

  it("shows live throughput and latency", async () => {
    // Writes go on until the page has shown them: on a loaded machine its polls may come late.
    let writing = true;
    const load = (async () => {
      for (let i = 0; writing; i++) await writer.setData("/app/worker-0", `load-${i}`);
    })();
    try {
      await expect.poll(async () => Number(await page.getByTestId("rate-now").innerText()), { timeout: 15_000 }).toBeGreaterThan(1);
      await expect.poll(async () => Number(await page.getByTestId("latency-now").innerText()), { timeout: 15_000 }).toBeGreaterThan(0);
    } finally {
      writing = false;
      await load;
    }
    if (SCREENSHOTS) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, "dashboard.png"), fullPage: true });
    }
  });

  it("follows a leader kill with the page open: the dead node, the new leader, the client back, watches alive", async () => {
    await leader.kill("SIGKILL");
    await expect.poll(() => row(leader).getAttribute("data-role"), { timeout: 10_000 }).toBe("down");
    const next = (await e.waitForLeader({ notId: leader.id, timeoutMs: 30_000 })).node;
    await expect.poll(() => row(next).getAttribute("data-role"), { timeout: 20_000 }).toBe("leading");
    await expect.poll(() => page.getByTestId("summary").innerText(), { timeout: 20_000 }).toContain(`leader: node ${next.id}`);
    // Every client was dropped when its node lost the leader; the page's reconnected to a survivor.
    await expect.poll(() => page.getByTestId("client-state").innerText(), { timeout: 30_000 }).toBe("connected");
    await expect.poll(() => page.getByTestId("events").innerText(), { timeout: 10_000 }).toContain("client connected");
    await writer.setData("/app/config", '{"replicas":2}');
    await expect.poll(() => page.getByTestId("data").innerText(), { timeout: 15_000 }).toBe('{"replicas":2}');
    const events = await page.getByTestId("events").innerText();
    expect(events.match(/NodeDataChanged \/app\/config/g)?.length).toBe(2);
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, "dashboard-failover.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
