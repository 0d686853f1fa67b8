// Human-readable renderings of what the service returns. Pure functions of their input.
import { EventType, Perms, formatOwner, formatSessionId, formatZxid, type Acl, type Stat } from "@keeper/protocol";
import type { WatchEvent } from "./ports.ts";

/** The Stat as zkCli prints it: one `name = value` line per field, times as ISO dates. */
export function formatStat(stat: Stat): string[] {
  return [
    `cZxid = ${formatZxid(stat.czxid)}`,
    `ctime = ${formatTime(stat.ctime)}`,
    `mZxid = ${formatZxid(stat.mzxid)}`,
    `mtime = ${formatTime(stat.mtime)}`,
    `pZxid = ${formatZxid(stat.pzxid)}`,
    `cversion = ${stat.cversion}`,
    `dataVersion = ${stat.version}`,
    `aclVersion = ${stat.aversion}`,
    `ephemeralOwner = ${formatOwner(stat.ephemeralOwner)}`,
    `dataLength = ${stat.dataLength}`,
    `numChildren = ${stat.numChildren}`,
  ];
}

function formatTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Znode data as text when it is valid UTF-8 without control characters (tab, newline and
 * carriage return allowed), otherwise as `0x` followed by hex digits, so binary data never
 * garbles a terminal.
 */
export function formatData(data: Uint8Array): string {
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return toHex(data);
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? toHex(data) : text;
}

export function toHex(data: Uint8Array): string {
  return "0x" + Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

const eventNames = new Map<number, string>(Object.entries(EventType).map(([name, value]) => [value, name]));

export function eventTypeName(type: number): string {
  return eventNames.get(type) ?? `UnknownEvent(${type})`;
}

/** A watch event as one line: `NodeDataChanged /a`. */
export function formatEvent(event: WatchEvent): string {
  return `${eventTypeName(event.type)} ${event.path}`;
}

// zkCli's letters, in its order: create, delete, read, write, admin.
const PERM_LETTERS: ReadonlyArray<[string, number]> = [
  ["c", Perms.CREATE],
  ["d", Perms.DELETE],
  ["r", Perms.READ],
  ["w", Perms.WRITE],
  ["a", Perms.ADMIN],
];

export function formatPerms(perms: number): string {
  return PERM_LETTERS.filter(([, bit]) => (perms & bit) !== 0)
    .map(([letter]) => letter)
    .join("");
}

/** An ACL entry as `scheme:id:perms`, the same syntax setAcl accepts. */
export function formatAcl(acl: Acl): string {
  return `${acl.scheme}:${acl.id}:${formatPerms(acl.perms)}`;
}

/** Parses `scheme:id:perms[,scheme:id:perms...]`; the id may itself contain colons. */
export function parseAcl(text: string): Acl[] | string {
  const acls: Acl[] = [];
  for (const entry of text.split(",")) {
    const first = entry.indexOf(":");
    const last = entry.lastIndexOf(":");
    if (first <= 0 || last === first) return `ACL entry "${entry}" is not scheme:id:perms`;
    let perms = 0;
    for (const letter of entry.slice(last + 1)) {
      const bit = PERM_LETTERS.find(([l]) => l === letter)?.[1];
      if (bit === undefined) return `ACL entry "${entry}": unknown permission "${letter}" (use c, d, r, w, a)`;
      perms |= bit;
    }
    acls.push({ scheme: entry.slice(0, first), id: entry.slice(first + 1, last), perms });
  }
  return acls;
}
