// The `keeper` command: wires the process (argv, env, stdio, signals) and the real client and
// server modules into runCli, then exits with its code.
import { readFileSync } from "node:fs";
import { runCli } from "./cli.ts";
import { processContext } from "./context.ts";
import { processIo } from "./io.ts";
import type { Connect, ServerModule } from "./ports.ts";

async function loadConnect(): Promise<Connect> {
  const { connect } = await import("@keeper/client");
  return connect satisfies Connect;
}

async function loadServer(): Promise<ServerModule> {
  const { resolveServerConfig, startServer } = await import("@keeper/server");
  return { resolveServerConfig, startServer } satisfies ServerModule;
}

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  context: processContext(processIo, "oneshot"),
  loadConnect,
  server: { loadServer, readFile: (path) => readFileSync(path, "utf8"), signals: process },
  stdin: process.stdin,
  stdout: process.stdout,
});
// Exit only once stdout has drained, so piped output is never cut short; exit explicitly
// because a closed client or server may leave handles that would keep the process alive.
process.stdout.write("", () => process.exit(code));
