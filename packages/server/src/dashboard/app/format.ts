// How the dashboard shows znode data, Stats and ACLs: pure functions, tested in Node.
import type { Acl, Stat } from "@keeper/client";

export type DataFormat = "text" | "json" | "hex";

/** Bytes shown at most: a 1 MiB znode would make the page crawl, and the size is shown anyway. */
export const SHOWN_BYTES_MAX = 64 * 1024;

export function formatData(data: Uint8Array, format: DataFormat): string {
  const shown = data.subarray(0, SHOWN_BYTES_MAX);
  const cut = data.length > shown.length ? `\n… ${data.length - shown.length} more bytes not shown` : "";
  switch (format) {
    case "text":
      return new TextDecoder("utf-8", { fatal: false }).decode(shown) + cut;
    case "json":
      try {
        return JSON.stringify(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data)), null, 2);
      } catch (e) {
        return `not JSON: ${(e as Error).message}`;
      }
    case "hex":
      return hexDump(shown) + cut;
  }
}

/** 16 bytes a line: offset, hex bytes, printable ASCII. */
export function hexDump(data: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < data.length; off += 16) {
    const row = data.subarray(off, off + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${off.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join("\n");
}

export const hexZxid = (z: number): string => "0x" + z.toString(16);

/** A Stat as ZooKeeper's zkCli prints it (zxids in hex, times as dates). */
export function statRows(s: Stat): Array<[string, string]> {
  return [
    ["czxid", hexZxid(s.czxid)],
    ["mzxid", hexZxid(s.mzxid)],
    ["pzxid", hexZxid(s.pzxid)],
    ["ctime", new Date(s.ctime).toISOString()],
    ["mtime", new Date(s.mtime).toISOString()],
    ["version", String(s.version)],
    ["cversion", String(s.cversion)],
    ["aversion", String(s.aversion)],
    ["ephemeralOwner", hexZxid(s.ephemeralOwner)],
    ["dataLength", String(s.dataLength)],
    ["numChildren", String(s.numChildren)],
  ];
}

const PERM_LETTERS: Array<[number, string]> = [[1, "r"], [2, "w"], [4, "c"], [8, "d"], [16, "a"]];

/** An ACL as zkCli's getAcl prints it: 'world,'anyone / : cdrwa. */
export function aclText(acl: Acl[]): string {
  return acl.map((a) => `'${a.scheme},'${a.id}\n: ${perms(a.perms)}`).join("\n");
}

function perms(p: number): string {
  // zkCli's order: c d r w a.
  const letters = new Map(PERM_LETTERS.filter(([bit]) => (p & bit) !== 0).map(([, l]) => [l, true]));
  return ["c", "d", "r", "w", "a"].filter((l) => letters.has(l)).join("");
}

/** The parent of a path, and the path of a child. */
export const parentOf = (path: string): string => (path === "/" ? "/" : path.slice(0, path.lastIndexOf("/")) || "/");
export const childPath = (path: string, name: string): string => (path === "/" ? `/${name}` : `${path}/${name}`);
