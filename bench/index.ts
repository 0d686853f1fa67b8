// `npm run bench`: runs every benchmark in bench/*.ts (each exports `name` and `run()`), one
// after another, and prints a summary. Helpers live in bench/lib/ and are not benchmarks.
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";

interface Benchmark {
  name: string;
  run(opts?: { log?: (line: string) => void }): Promise<unknown>;
}

const dir = import.meta.dirname;
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "index.ts" && !f.startsWith("_"))
  .filter((f) => only.length === 0 || only.includes(basename(f, ".ts")))
  .sort();

const summary: Array<{ name: string; ok: boolean; seconds: number; error?: string }> = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as Partial<Benchmark>;
  if (typeof mod.run !== "function") continue;
  const name = mod.name ?? basename(file, ".ts");
  console.log(`\n=== ${name} (bench/${file}) ===`);
  const t0 = Date.now();
  try {
    await mod.run();
    summary.push({ name, ok: true, seconds: (Date.now() - t0) / 1000 });
  } catch (err) {
    console.error(err);
    summary.push({ name, ok: false, seconds: (Date.now() - t0) / 1000, error: (err as Error).message.split("\n")[0] });
  }
}

console.log("\n=== summary ===");
for (const s of summary) console.log(`${s.ok ? "ok  " : "FAIL"} ${s.name.padEnd(12)} ${s.seconds.toFixed(1)} s${s.error ? `  ${s.error}` : ""}`);
process.exit(summary.every((s) => s.ok) ? 0 : 1);
