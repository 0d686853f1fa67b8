// The third-party packages something needs at run time, found as Node would find them from
// this repository's node_modules: the packed-tarball test packs them for an offline install,
// the compose test links them into the image's /app as `npm ci --omit=dev` would install them.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "./processes.ts";

/** The installed directories of `roots` and of everything they depend on (optional dependencies too), transitively. */
export function runtimeClosure(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string, from: string): void => {
    for (let dir = from; ; dir = dirname(dir)) {
      const candidate = join(dir, "node_modules", name);
      if (existsSync(join(candidate, "package.json"))) {
        if (seen.has(candidate)) return;
        seen.add(candidate);
        const m = JSON.parse(readFileSync(join(candidate, "package.json"), "utf8")) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
        for (const dep of Object.keys({ ...m.dependencies, ...m.optionalDependencies })) visit(dep, candidate);
        return;
      }
      if (dirname(dir) === dir) return;
    }
  };
  for (const r of roots) visit(r, REPO_ROOT);
  return [...seen];
}
