// Data dirs written before values were checksummed are upgraded in place when opened: every
// value is rewritten framed (checksum.ts), then a format marker is written last, in a synced
// batch. A crash mid-way leaves a mix that the next open finishes (no unframed value starts
// with the frame tag, so "already framed" is unambiguous). Once the marker is there, an
// unframed value is corruption, never an old record.
import type { Level } from "level";
import { readSnapshotHeader } from "@keeper/core";
import type { Logger } from "../logger.ts";
import { StorageError, frame, isFramed, unframe } from "./checksum.ts";
import { LEGACY_HEADER, headerKey } from "./snapshot-area.ts";

export const FORMAT_KEY = "f/format";
const STORE_FORMAT = "keeper-store 2: crc32c-framed values, retained snapshots";
/** The earlier layout's pointer to its one snapshot; snapshots are now found by their headers. */
const LEGACY_CURRENT = "s/current";
const LOG_FROM = "f/log-from";
const BATCH_BYTES = 16 * 1024 * 1024;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

const payloadOf = (key: string, v: Uint8Array) => (isFramed(v) ? unframe(key, v) : v);

export async function upgradeToFramed(db: Level<string, Uint8Array>, log: Logger): Promise<void> {
  const marker = await db.get(FORMAT_KEY);
  if (marker !== undefined) {
    const format = fromUtf8.decode(unframe(FORMAT_KEY, marker));
    if (format !== STORE_FORMAT) throw new StorageError(`data dir format "${format}" is not the one this version reads ("${STORE_FORMAT}")`);
    return;
  }
  // The log was purged up to the snapshot the old layout pointed at: it is complete only from there.
  const logFrom = (await legacySnapshotZxid(db)) ?? 0;
  let batch: Array<{ type: "put"; key: string; value: Uint8Array }> = [];
  let bytes = 0;
  let framed = 0;
  for await (const [key, value] of db.iterator()) {
    if (isFramed(value)) continue;
    batch.push({ type: "put", key, value: frame(value) });
    bytes += value.length;
    framed++;
    if (bytes >= BATCH_BYTES || batch.length >= 1024) {
      await db.batch(batch);
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) await db.batch(batch);
  const logFromValue = new Uint8Array(8);
  new DataView(logFromValue.buffer).setFloat64(0, logFrom);
  await db.batch(
    [
      { type: "del", key: LEGACY_CURRENT },
      ...((await db.get(LOG_FROM)) === undefined ? [{ type: "put" as const, key: LOG_FROM, value: frame(logFromValue) }] : []),
      { type: "put", key: FORMAT_KEY, value: frame(utf8.encode(STORE_FORMAT)) },
    ],
    { sync: true } as never,
  );
  if (framed > 0) log.info({ values: framed, logFrom }, "data dir upgraded: every stored value now carries a CRC32C");
}

async function legacySnapshotZxid(db: Level<string, Uint8Array>): Promise<number | undefined> {
  const current = await db.get(LEGACY_CURRENT);
  const key = current !== undefined ? headerKey(fromUtf8.decode(payloadOf(LEGACY_CURRENT, current))) : LEGACY_HEADER;
  const header = await db.get(key);
  return header === undefined ? undefined : readSnapshotHeader(payloadOf(key, header)).zxid;
}
