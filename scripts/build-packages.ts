// `npm run build`: compiles the publishable packages to JavaScript with type declarations and
// packs each into an npm tarball, so `@keeper/client` and the `keeper` command install and run
// without tsx. The repository itself keeps running its TypeScript sources (exports point at
// src/ for tsx and vitest); this script stages each package with a package.json pointing at
// dist/ instead, compiles it there (tsc rewrites the sources' `.ts` import specifiers to
// `.js`), and runs `npm pack`. Packages build in dependency order; each sees the declarations
// of the ones before it.
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Dependency order: each package may import only those before it. */
export const PUBLISHED = ["protocol", "core", "client", "server", "cli"] as const;

interface Manifest {
  name: string;
  version: string;
  description?: string;
  type?: string;
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
}

/** The @keeper/* packages a package's sources import (statically or with import()). */
function internalImports(pkg: string): string[] {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) for (const m of readFileSync(path, "utf8").matchAll(/["'](@keeper\/[a-z]+)["']/g)) found.add(m[1]!);
    }
  };
  walk(join(REPO, "packages", pkg, "src"));
  found.delete(`@keeper/${pkg}`);
  return [...found].sort();
}

/**
 * Copies what tsc does not emit, every file under src/ that is not TypeScript (the dashboard's
 * page.html), to the same place under dist/, where the compiled code looks for it.
 */
function copyAssets(srcDir: string, distDir: string): void {
  cpSync(srcDir, distDir, { recursive: true, filter: (from) => !from.endsWith(".ts") });
}

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export interface BuildOptions {
  /** Also `npm pack` each package (default). Without it, `outDir/<pkg>` holds the built package only, as the Docker image uses it. */
  pack?: boolean;
}

/**
 * Builds every published package into `outDir/<pkg>` (package.json, dist/, bin/, LICENSE) and,
 * unless told not to, packs each; returns the tarball paths in dependency order.
 */
export function buildPackages(outDir: string, options: BuildOptions = {}): string[] {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const tarballs: string[] = [];
  const built: string[] = [];
  const rootManifest = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { engines?: Record<string, string> };
  for (const pkg of PUBLISHED) {
    const source = join(REPO, "packages", pkg);
    const stage = join(outDir, pkg);
    const manifest = JSON.parse(readFileSync(join(source, "package.json"), "utf8")) as Manifest;
    const internal = internalImports(pkg);
    for (const dep of internal) if (!built.includes(dep.slice("@keeper/".length))) throw new Error(`${manifest.name} imports ${dep}, which is not built before it`);
    const tsconfig = {
      extends: join(REPO, "tsconfig.json"),
      compilerOptions: {
        noEmit: false,
        declaration: true,
        allowImportingTsExtensions: false,
        rewriteRelativeImportExtensions: true,
        // The staging directory is outside the repository: find @types/node from here.
        typeRoots: [join(REPO, "node_modules", "@types")],
        rootDir: join(source, "src"),
        outDir: join(stage, "dist"),
        // The packages built so far, by their declarations (the repository resolves them to sources).
        // All of them: a declaration may name another package's types (server's name core's).
        paths: Object.fromEntries(built.map((dep) => [`@keeper/${dep}`, [join(outDir, dep, "dist", "index.d.ts")]])),
      },
      include: [join(source, "src", "**", "*.ts")],
    };
    mkdirSync(stage, { recursive: true });
    writeFileSync(join(outDir, `tsconfig.${pkg}.json`), JSON.stringify(tsconfig, null, 2));
    try {
      run(process.execPath, [join(REPO, "node_modules", "typescript", "bin", "tsc"), "-p", join(outDir, `tsconfig.${pkg}.json`)], REPO);
    } catch (err) {
      throw new Error(`tsc failed for ${manifest.name}:\n${(err as { stdout?: string }).stdout ?? ""}`);
    }
    copyAssets(join(source, "src"), join(stage, "dist"));
    const published = {
      name: manifest.name,
      version: manifest.version,
      description: manifest.description ?? `Keeper: ${pkg}`,
      license: "Apache-2.0",
      type: "module",
      engines: rootManifest.engines,
      exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } },
      types: "./dist/index.d.ts",
      files: ["dist", "bin", "LICENSE"],
      dependencies: { ...manifest.dependencies, ...Object.fromEntries(internal.map((dep) => [dep, manifest.version])) },
      ...(manifest.bin ? { bin: { keeper: "bin/keeper.js" } } : {}),
    };
    writeFileSync(join(stage, "package.json"), JSON.stringify(published, null, 2) + "\n");
    copyFileSync(join(REPO, "LICENSE"), join(stage, "LICENSE"));
    if (manifest.bin) {
      mkdirSync(join(stage, "bin"), { recursive: true });
      writeFileSync(join(stage, "bin", "keeper.js"), '#!/usr/bin/env node\n// The installed `keeper` command: the compiled CLI, no tsx.\nimport "../dist/main.js";\n', { mode: 0o755 });
    }
    built.push(pkg);
    if (options.pack === false) continue;
    const packed = run("npm", ["pack", "--silent", "--pack-destination", outDir], stage).trim().split("\n").pop()!;
    tarballs.push(join(outDir, packed));
  }
  return tarballs;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? join(REPO, "dist-packages"));
  const tarballs = buildPackages(outDir);
  for (const t of tarballs) process.stdout.write(`${t}${existsSync(t) ? "" : " (missing)"}\n`);
}
