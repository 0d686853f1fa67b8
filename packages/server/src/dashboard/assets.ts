// The built-in dashboard's two files: the page and its script. The script (app/main.ts, which
// uses @keeper/client in the browser) is bundled by esbuild the first time someone asks for it,
// in esbuild's own process, so a node nobody looks at pays nothing and the event loop is never
// held; the result is kept for the life of the process.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));
/**
 * The script's entry beside this file: app/main.ts where the sources run (tsx, vitest), the
 * compiled app/main.js in a built package (npm run build, the Docker image).
 */
const APP_ENTRY = `${HERE}app/main${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`;

export interface Asset {
  contentType: string;
  body: string;
}

let page: Promise<Asset> | undefined;
let script: Promise<Asset> | undefined;

export function dashboardPage(): Promise<Asset> {
  page ??= readFile(`${HERE}page.html`, "utf8").then((body) => ({ contentType: "text/html; charset=utf-8", body }));
  return page;
}

export function dashboardScript(): Promise<Asset> {
  script ??= bundle().catch((err: unknown) => {
    // A failed build is retried on the next request rather than cached.
    script = undefined;
    throw err;
  });
  return script;
}

async function bundle(): Promise<Asset> {
  const esbuild = await import("esbuild");
  const out = await esbuild.build({
    entryPoints: [APP_ENTRY],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    plugins: [
      {
        // The client loads the `ws` package only where there is no WebSocket: never in a browser.
        // Compiled, the client imports it as node-websocket.js.
        name: "browser-websocket-only",
        setup(build) {
          build.onResolve({ filter: /node-websocket(\.[jt]s)?$/ }, (args) => ({ path: args.path, external: true }));
        },
      },
    ],
  });
  return { contentType: "text/javascript; charset=utf-8", body: out.outputFiles[0]!.text };
}
