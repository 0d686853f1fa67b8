// deploy/grafana: the dashboard Grafana provisions is well formed (unique panel ids, panels
// within the 24-column grid and not overlapping, every query on the provisioned Prometheus data
// source) and the provisioning files point where compose mounts them. Which metrics its queries
// read is checked against live nodes in metrics.test.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const DEPLOY = join(import.meta.dirname, "../../deploy/grafana");

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ refId: string; expr: string; datasource: { uid: string } }>;
}

const dashboard = JSON.parse(readFileSync(join(DEPLOY, "dashboards/keeper.json"), "utf8")) as { uid: string; title: string; panels: Panel[] };

describe("deploy/grafana", () => {
  it("has unique panel ids and titles, each panel inside the grid and overlapping none", () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const titles = dashboard.panels.filter((p) => p.type !== "row").map((p) => p.title);
    expect(new Set(titles).size).toBe(titles.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const g = p.gridPos;
      expect(g.x >= 0 && g.w > 0 && g.x + g.w <= 24, `${p.title} ${JSON.stringify(g)}`).toBe(true);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it("queries only the provisioned Prometheus data source, every panel with a query", () => {
    const provisioned = readFileSync(join(DEPLOY, "provisioning/datasources/prometheus.yml"), "utf8");
    const uid = /uid: (\S+)/.exec(provisioned)?.[1];
    expect(uid).toBe("keeper-prometheus");
    for (const p of dashboard.panels.filter((x) => x.type !== "row")) {
      expect(p.datasource?.uid, p.title).toBe(uid);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) {
        expect(t.datasource.uid).toBe(uid);
        expect(t.expr.trim()).not.toBe("");
      }
    }
  });

  it("is loaded from the directory compose mounts", () => {
    const provider = readFileSync(join(DEPLOY, "provisioning/dashboards/keeper.yml"), "utf8");
    expect(provider).toContain("path: /var/lib/grafana/dashboards");
    const compose = readFileSync(join(import.meta.dirname, "../../docker-compose.yml"), "utf8");
    expect(compose).toContain("./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro");
    expect(compose).toContain("./deploy/grafana/provisioning:/etc/grafana/provisioning:ro");
  });
});
