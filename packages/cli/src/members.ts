// `keeper members`: the ensemble's membership as its nodes see it (etcdctl member list): each
// member's id and peer address from the first node that answers, and each member's state from
// its own /status when the connect string names it.
import { parseArgv, parseInteger, stringOption } from "./args.ts";
import { outputArg } from "./command-args.ts";
import { DEFAULT_CONNECT } from "./connection.ts";
import { ExitCode, UsageError, reportError } from "./errors.ts";
import type { Io } from "./io.ts";
import type { Env } from "./server-options.ts";
import { STATUS_TIMEOUT_MS, fetchJson, fetchStatuses, statusAddresses, type FetchJson, type NodeStatus, type StatusResult } from "./status.ts";

export interface Member {
  id: number;
  peerAddress: string;
  /** The member's own view, when it was asked and answered; otherwise "unknown". */
  state: string;
  leader: boolean;
  /** The client address it answered on, when it was asked. */
  clientAddress: string | null;
}

export function membersOf(results: readonly StatusResult[]): Member[] | undefined {
  const answered = results.filter((r): r is { address: string; status: NodeStatus } => "status" in r);
  const first = answered.find((r) => Array.isArray(r.status.peers));
  if (first === undefined) return undefined;
  const byId = new Map(answered.map((r) => [r.status.serverId, r]));
  const leaderId = answered.map((r) => r.status.leader).find((l) => typeof l === "number");
  const peers = first.status.peers!.length > 0 ? first.status.peers! : [{ id: first.status.serverId ?? 1, address: "-" }];
  return peers.map((p) => {
    const own = byId.get(p.id);
    return {
      id: p.id,
      peerAddress: String(p.address ?? "-"),
      state: own ? String(own.status.state ?? "unknown") + (own.status.serving === false ? " (not serving)" : "") : "unknown",
      leader: leaderId === p.id,
      clientAddress: own?.address ?? null,
    };
  });
}

export function membersHelp(): string {
  return [
    "usage: keeper members [--connect HOSTS] [-o json] [--timeout-ms N]",
    "",
    "Lists the ensemble's members as its nodes know them: ID, PEER ADDRESS, STATE (from the",
    "member's own /status when HOSTS names it, else unknown) and which one leads.",
    "",
    `  --connect HOSTS  admin addresses host:port[,...]; default $KEEPER_CONNECT, else ${DEFAULT_CONNECT}`,
    "  -o, --output F   text (default) or json",
    `  --timeout-ms N   time allowed to each node (default ${STATUS_TIMEOUT_MS})`,
    "",
    "Exit codes: 0 when a node answered, 1 when none did, 2 for a bad flag.",
  ].join("\n");
}

export async function runMembers(argv: readonly string[], env: Env, io: Io, fetchFn: FetchJson = fetchJson): Promise<number> {
  let addresses: string[];
  let asJson: boolean;
  let timeoutMs = STATUS_TIMEOUT_MS;
  try {
    const args = parseArgv(argv, { help: { type: "boolean", short: "h" }, connect: { type: "string" }, output: { type: "string", short: "o" }, "timeout-ms": { type: "string" } }, false);
    if (args.values.help === true) {
      io.out(membersHelp());
      return ExitCode.OK;
    }
    addresses = statusAddresses(stringOption(args, "connect") ?? (env.KEEPER_CONNECT || DEFAULT_CONNECT));
    asJson = outputArg(args) === "json";
    const rawTimeout = stringOption(args, "timeout-ms");
    if (rawTimeout !== undefined) timeoutMs = parseInteger(rawTimeout, "--timeout-ms");
    if (timeoutMs <= 0) throw new UsageError("--timeout-ms: must be positive");
  } catch (err) {
    return reportError(io, err, "keeper members");
  }
  const results = await fetchStatuses(addresses, fetchFn, timeoutMs);
  const members = membersOf(results);
  if (members === undefined) {
    for (const r of results) if ("error" in r) io.err(`keeper members: ${r.address}: ${r.error}`);
    return ExitCode.FAILED;
  }
  if (asJson) {
    io.out(JSON.stringify(members));
    return ExitCode.OK;
  }
  const rows = [["ID", "PEER ADDRESS", "STATE", "LEADER", "CLIENT ADDRESS"], ...members.map((m) => [String(m.id), m.peerAddress, m.state, m.leader ? "*" : "", m.clientAddress ?? "-"])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) io.out(r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd());
  return ExitCode.OK;
}
