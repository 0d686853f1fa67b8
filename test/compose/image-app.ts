// deploy/Dockerfile's /app, laid out on the local disk so the compose test runs what the image
// runs, following the runtime stage's COPY lines as read from the Dockerfile:
//   --from=build /src/dist-packages/<pkg>  `npm run build`'s output for <pkg> (built here with
//                                          the same script, without packing)
//   --from=deps /app/node_modules          what `npm ci --omit=dev` installs: links to this
//                                          repository's copies of exactly the packages the
//                                          workspaces need at run time, transitively, and
//                                          @keeper/<pkg> linked to packages/<pkg> as npm links
//                                          workspaces
//   SOURCE (no --from)                     the file from the repository
// A COPY of any other shape is an error, so the Dockerfile and this stand-in cannot drift apart
// unnoticed. tsx and TypeScript are dev dependencies, so they are not linked: code that still
// needed them fails here as it would in the image.
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { buildPackages } from "../../scripts/build-packages.ts";
import { REPO_ROOT } from "../support/processes.ts";
import { runtimeClosure } from "../support/runtime-deps.ts";
import type { ImageRuntime } from "./compose-model.ts";

/** Where the build stage's `npm run build` leaves the packages (its WORKDIR is /src). */
const BUILD_OUTPUT = "/src/dist-packages";
const WORKSPACES = ["protocol", "core", "server", "client", "cli", "sim"] as const;

/** The third-party dependencies the workspaces' package.json files name (what --omit=dev keeps). */
function productionRoots(): string[] {
  const roots = new Set<string>();
  for (const ws of WORKSPACES) {
    const m = JSON.parse(readFileSync(join(REPO_ROOT, "packages", ws, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(m.dependencies ?? {})) if (!dep.startsWith("@keeper/")) roots.add(dep);
  }
  return [...roots].sort();
}

function linkProductionModules(dest: string): void {
  const top = join(REPO_ROOT, "node_modules");
  for (const dir of runtimeClosure(productionRoots())) {
    // Only the hoisted ones: a nested copy is found through its parent's real path.
    const name = relative(top, dir);
    if (name.includes("node_modules") || name.startsWith("..")) continue;
    mkdirSync(dirname(join(dest, name)), { recursive: true });
    symlinkSync(dir, join(dest, name), "dir");
  }
  mkdirSync(join(dest, "@keeper"), { recursive: true });
  for (const ws of WORKSPACES) symlinkSync(join("..", "..", "packages", ws), join(dest, "@keeper", ws), "dir");
}

/** Fills `appDir` as the image's WORKDIR; takes tens of seconds (tsc over every package). */
export function layOutImageApp(image: ImageRuntime, appDir: string): void {
  const built = join(appDir, ".build-stage");
  buildPackages(built, { pack: false });
  for (const c of image.copies) {
    const dest = join(appDir, relative(image.workdir, c.dest));
    if (c.from === "build" && dirname(c.source) === BUILD_OUTPUT) cpSync(join(built, basename(c.source)), dest, { recursive: true });
    else if (c.from === "deps" && c.source === "/app/node_modules") linkProductionModules(dest);
    else if (c.from === undefined && !c.source.startsWith("/")) cpSync(join(REPO_ROOT, c.source), dest, { recursive: true });
    else throw new Error(`deploy/Dockerfile: no local stand-in for COPY ${c.from === undefined ? "" : `--from=${c.from} `}${c.source} ${c.dest}; teach test/compose/image-app.ts`);
  }
  rmSync(built, { recursive: true, force: true });
}
