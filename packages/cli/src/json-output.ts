// The JSON renderings of `-o json`: one JSON document per command (one per line for a stream
// of watch events), with stable field names, so scripts can use jq instead of parsing text.
import { formatZxid, type Acl, type Stat } from "@keeper/protocol";
import { eventTypeName, formatData, formatPerms } from "./format.ts";
import type { WatchEvent } from "./ports.ts";

/** A Stat with ZooKeeper's field names; zxids also in hex as zkCli prints them. */
export function statJson(stat: Stat): Record<string, unknown> {
  return {
    czxid: stat.czxid,
    czxidHex: formatZxid(stat.czxid),
    mzxid: stat.mzxid,
    mzxidHex: formatZxid(stat.mzxid),
    pzxid: stat.pzxid,
    pzxidHex: formatZxid(stat.pzxid),
    ctime: stat.ctime,
    mtime: stat.mtime,
    version: stat.version,
    cversion: stat.cversion,
    aversion: stat.aversion,
    ephemeralOwner: stat.ephemeralOwner,
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
  };
}

/**
 * Data both ways: `data` is the text (or 0x-hex) the text output prints, `dataBase64` the
 * exact bytes, so binary data survives a round trip through JSON.
 */
export function dataJson(data: Uint8Array): { data: string; dataBase64: string } {
  return { data: formatData(data), dataBase64: Buffer.from(data).toString("base64") };
}

export function aclJson(acl: readonly Acl[]): Array<{ scheme: string; id: string; perms: string }> {
  return acl.map((a) => ({ scheme: a.scheme, id: a.id, perms: formatPerms(a.perms) }));
}

export function eventJson(event: WatchEvent): Record<string, unknown> {
  return { type: eventTypeName(event.type), path: event.path };
}

export function json(value: unknown): string {
  return JSON.stringify(value);
}
