// The alert rules and Prometheus config in deploy/prometheus, checked by Prometheus's own tool
// (Debian's prometheus package; CI installs it): the rules parse, the config loads them, and the
// unit tests in keeper-alerts.test.yml fire (and hold back) the alerts as they state.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const DIR = join(import.meta.dirname, "../../deploy/prometheus");
const PROMTOOL = "/usr/bin/promtool";

function promtool(...args: string[]): { status: number | null; out: string } {
  if (!existsSync(PROMTOOL)) throw new Error(`${PROMTOOL} is missing: install Debian's prometheus (bash .ci/run does: apt-get install -y prometheus)`);
  const r = spawnSync(PROMTOOL, args, { cwd: DIR, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("deploy/prometheus", () => {
  it("keeper-alerts.yml passes promtool check rules", () => {
    const r = promtool("check", "rules", "keeper-alerts.yml");
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("prometheus.yml passes promtool check config, rule files included", () => {
    const r = promtool("check", "config", "prometheus.yml");
    expect(r.status, r.out).toBe(0);
  });

  it("the alerts fire as keeper-alerts.test.yml states (promtool test rules)", () => {
    const r = promtool("test", "rules", "keeper-alerts.test.yml");
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("SUCCESS");
  });

  it("promtool would notice a broken rule: the checks above can fail", () => {
    const r = spawnSync(PROMTOOL, ["check", "rules", "/dev/stdin"], { input: "groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m])\n", encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(execFileSync(PROMTOOL, ["--version"], { encoding: "utf8" })).toMatch(/promtool/);
  });
});
