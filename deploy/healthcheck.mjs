#!/usr/bin/env node
// Container health probe for a Keeper node: exits 0 when the node's admin HTTP answers 200 on
// PATH, 1 otherwise (not listening, timed out, or any other status). Uses Node's own fetch,
// so the slim image needs no curl or wget.
//
//   node deploy/healthcheck.mjs            probes /healthz: the process is up and serving HTTP
//   node deploy/healthcheck.mjs /readyz    probes /readyz: the node is part of a quorum and serving
//
// It reads the same variables as `keeper server`, so it follows a changed client port or bind
// address: KEEPER_CLIENT_PORT (default 8180 + KEEPER_SERVER_ID, as the server's), KEEPER_HOST
// (a wildcard bind such as 0.0.0.0 is probed on loopback). KEEPER_HEALTHCHECK_TIMEOUT_MS bounds
// the request (default 2000).
const path = process.argv[2] ?? "/healthz";
const bind = process.env.KEEPER_HOST ?? "";
const host = bind === "" || bind === "0.0.0.0" || bind === "::" || bind === "[::]" ? "127.0.0.1" : bind;
const hostPart = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
const port = process.env.KEEPER_CLIENT_PORT || String(8180 + Number(process.env.KEEPER_SERVER_ID || 1));
const timeoutMs = Number(process.env.KEEPER_HEALTHCHECK_TIMEOUT_MS) || 2000;
const url = `http://${hostPart}:${port}${path.startsWith("/") ? path : `/${path}`}`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.text()).trim();
  if (res.ok) {
    process.stdout.write(`${url}: ${res.status} ${body}\n`);
    process.exit(0);
  }
  process.stderr.write(`${url}: ${res.status} ${body}\n`);
} catch (err) {
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
  process.stderr.write(`${url}: ${err instanceof Error ? err.message : String(err)}${cause}\n`);
}
process.exit(1);
