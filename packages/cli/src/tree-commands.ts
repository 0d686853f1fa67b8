// Commands that walk a subtree (`ls -R`, `tree`) and `whoami`. A walk is one getChildren per
// node, parents before children, so it sees each node as it was when it was listed: it is a
// listing, not a consistent snapshot (that is `keeper backup`).
import { Code, KeeperError, joinPath } from "@keeper/protocol";
import type { ParsedArgv } from "./args.ts";
import { outputArg, pathArg } from "./command-args.ts";
import type { CommandSpec } from "./commands.ts";
import type { CommandContext } from "./context.ts";
import { ExitCode } from "./errors.ts";
import { json } from "./json-output.ts";
import type { KeeperClient } from "./ports.ts";

interface TreeNode {
  name: string;
  path: string;
  children: TreeNode[];
}

/** The subtree under `path`, children sorted; nodes deleted during the walk are left out. */
export async function walk(client: KeeperClient, path: string, name = path): Promise<TreeNode | undefined> {
  let children: string[];
  try {
    children = (await client.getChildren(path)).children;
  } catch (err) {
    if (err instanceof KeeperError && err.code === Code.NONODE && name !== path) return undefined;
    throw err;
  }
  const node: TreeNode = { name, path, children: [] };
  for (const child of [...children].sort()) {
    const sub = await walk(client, joinPath(path, child), child);
    if (sub) node.children.push(sub);
  }
  return node;
}

/** Every path below `path` (itself excluded), parents first, as a flat list. */
function paths(node: TreeNode, out: string[] = []): string[] {
  for (const c of node.children) {
    out.push(c.path);
    paths(c, out);
  }
  return out;
}

/** `ls -R PATH`: every descendant as a full path, one per line, or a JSON array. */
export async function listRecursive(client: KeeperClient, path: string, asJson: boolean, ctx: CommandContext): Promise<number> {
  const root = (await walk(client, path))!;
  const all = paths(root);
  if (asJson) ctx.out(json(all));
  else for (const p of all) ctx.out(p);
  return ExitCode.OK;
}

/** Box-drawing lines under the root's own line, as the `tree` command draws them. */
function drawTree(node: TreeNode, prefix = "", out: string[] = []): string[] {
  node.children.forEach((c, i) => {
    const last = i === node.children.length - 1;
    out.push(`${prefix}${last ? "└── " : "├── "}${c.name}`);
    drawTree(c, prefix + (last ? "    " : "│   "), out);
  });
  return out;
}

function jsonTree(node: TreeNode): Record<string, unknown> {
  return { name: node.name, path: node.path, children: node.children.map(jsonTree) };
}

async function tree(client: KeeperClient, args: ParsedArgv, ctx: CommandContext): Promise<number> {
  const path = pathArg(args, 0);
  const root = (await walk(client, path))!;
  if (outputArg(args) === "json") ctx.out(json(jsonTree(root)));
  else [path, ...drawTree(root)].forEach((line) => ctx.out(line));
  return ExitCode.OK;
}

async function whoami(client: KeeperClient, args: ParsedArgv, ctx: CommandContext): Promise<number> {
  const infos = await client.whoAmI();
  if (outputArg(args) === "json") ctx.out(json(infos.map((i) => ({ scheme: i.authScheme, user: i.user }))));
  else for (const i of infos) ctx.out(`${i.authScheme} ${i.user}`);
  return ExitCode.OK;
}

const OUTPUT = { output: { type: "string", short: "o" } } as const;

export const TREE_COMMANDS: readonly CommandSpec[] = [
  {
    name: "tree",
    synopsis: "[PATH] [-o json]",
    summary: "draw the subtree under PATH (default /), children sorted",
    details: ["-o, --output F  text (default) or json (nested {name, path, children})"],
    options: { ...OUTPUT },
    positionals: [0, 1],
    validate: outputArg,
    run: tree,
  },
  {
    name: "whoami",
    synopsis: "[-o json]",
    summary: "print who the server takes this session for: scheme and user, one per line",
    details: ["-o, --output F  text (default) or json", "With --auth, a digest identity is listed too (in ZooKeeper's order)."],
    options: { ...OUTPUT },
    positionals: [0, 0],
    validate: outputArg,
    run: whoami,
  },
];
