// The snapshots in a store: each under its own key prefix "s/<zxid>.<n>/" (chunks "c/<i>", the
// header "h" written last, in one synced write, which is what commits it). The newest
// `retained` committed ones are kept. A data dir from before per-snapshot prefixes may still
// hold one in the legacy layout ("s/header", "s/chunk/<i>"); it is kept and dropped as any other.
import type { Level } from "level";
import { AssertionError, DecodeError, SnapshotLoader, readSnapshotHeader, type SnapshotMeta } from "@keeper/core";
import { asZxid, type Zxid } from "@keeper/protocol";
import type { Logger } from "../logger.ts";
import { CorruptValueError, frame, unframe } from "./checksum.ts";

const SNAP_PREFIX = "s/";
export const LEGACY_HEADER = "s/header";
const LEGACY_CHUNK = "s/chunk/";
/** A per-snapshot key prefix: "s/", the zxid in 14 hex digits, ".", a unique suffix, "/". */
const SNAPSHOT_PREFIX = /^s\/([0-9a-f]{14})\.[0-9a-z]+\//;

export const chunkKey = (prefix: string, i: number) => `${prefix}c/${String(i).padStart(8, "0")}`;
export const headerKey = (prefix: string) => `${prefix}h`;
/** Chunks framed and written per LevelDB batch, between which the event loop runs. */
const CHUNKS_PER_BATCH = 4;
const legacyChunkKey = (i: number) => `${LEGACY_CHUNK}${String(i).padStart(8, "0")}`;

/** Where a committed snapshot's keys live, and its zxid. */
type SnapshotPlace = { prefix: string; zxid: Zxid } | { legacy: true; zxid: Zxid };
const placeHeaderKey = (p: SnapshotPlace) => ("prefix" in p ? headerKey(p.prefix) : LEGACY_HEADER);
const placeChunkKey = (p: SnapshotPlace, i: number) => ("prefix" in p ? chunkKey(p.prefix, i) : legacyChunkKey(i));
const describe = (p: SnapshotPlace) => ("prefix" in p ? p.prefix : LEGACY_HEADER);

/**
 * One snapshot being stored, chunk by chunk. Nothing is visible until commit(); discard()
 * (or a crash) leaves the stored snapshots as they were.
 */
export interface SnapshotSink {
  readonly zxid: Zxid;
  /** Stores the next body chunks (not synced: commit's synced write makes them durable too). */
  write(chunks: readonly Uint8Array[]): Promise<void>;
  /**
   * Makes this the newest snapshot unless a newer one is committed already. With `replacing`
   * (a SNAP from the leader), that runs once it is committed and every other snapshot goes.
   */
  commit(header: Uint8Array, replacing?: () => Promise<void>): Promise<SnapshotMeta | undefined>;
  discard(): Promise<void>;
}

export type LoadedSnapshot = ReturnType<SnapshotLoader["finish"]>;

export class SnapshotArea {
  /** Commits run one at a time, so an older snapshot never replaces a newer one. */
  private queue: Promise<unknown> = Promise.resolve();
  private sinks = 0;

  constructor(private readonly db: Level<string, Uint8Array>, private readonly log: Logger, private readonly retained: number) {}

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  open(zxid: Zxid): SnapshotSink {
    // Unique even for two snapshots at one zxid (a local one and a SNAP from the leader).
    const prefix = `${SNAP_PREFIX}${zxid.toString(16).padStart(14, "0")}.${Date.now().toString(36)}${(++this.sinks).toString(36)}/`;
    let chunks = 0;
    return {
      zxid,
      write: async (body) => {
        // A few chunks per batch: framing copies and checksums each one (about 0.4 ms per MiB
        // with the native CRC, 3 ms without), and a SNAP hands over the whole state at once.
        for (let i = 0; i < body.length; i += CHUNKS_PER_BATCH) {
          const group = body.slice(i, i + CHUNKS_PER_BATCH);
          await this.db.batch(group.map((c) => ({ type: "put" as const, key: chunkKey(prefix, chunks++), value: frame(c) })));
        }
      },
      commit: (header, replacing) =>
        this.serialised(async () => {
          const meta = readSnapshotHeader(header);
          if (meta.chunks !== chunks) throw new Error(`snapshot at ${zxid} has ${chunks} chunks stored, its header says ${meta.chunks}`);
          const newest = (await this.list())[0];
          if (newest && newest.zxid > meta.zxid) {
            await this.clearPrefix(prefix);
            return undefined;
          }
          await this.db.batch([{ type: "put", key: headerKey(prefix), value: frame(header) }], { sync: true } as never);
          if (replacing) await replacing();
          const keep = replacing ? 1 : this.retained;
          for (const old of (await this.list()).slice(keep)) await this.clearPlace(old);
          return meta;
        }),
      discard: () => this.clearPrefix(prefix),
    };
  }

  /** Committed snapshots, newest first (by zxid, then by when they were made). */
  async list(): Promise<SnapshotPlace[]> {
    const out: SnapshotPlace[] = [];
    for await (const key of this.db.keys({ gte: SNAP_PREFIX, lt: SNAP_PREFIX + "~" })) {
      const m = SNAPSHOT_PREFIX.exec(key);
      if (m && key === headerKey(m[0])) out.push({ prefix: m[0], zxid: asZxid(parseInt(m[1]!, 16)) });
    }
    const legacy = await this.db.get(LEGACY_HEADER);
    if (legacy !== undefined) {
      // A header that fails its check sorts oldest and fails again when loaded.
      let zxid = asZxid(0);
      try {
        zxid = readSnapshotHeader(unframe(LEGACY_HEADER, legacy)).zxid;
      } catch {}
      out.push({ legacy: true, zxid });
    }
    return out.sort((a, b) => b.zxid - a.zxid || describe(b).localeCompare(describe(a)));
  }

  async oldestZxid(): Promise<Zxid | undefined> {
    const all = await this.list();
    return all[all.length - 1]?.zxid;
  }

  async newestMeta(): Promise<SnapshotMeta | undefined> {
    const newest = (await this.list())[0];
    if (!newest) return undefined;
    const header = await this.db.get(placeHeaderKey(newest));
    return header === undefined ? undefined : readSnapshotHeader(unframe(placeHeaderKey(newest), header));
  }

  /**
   * The newest snapshot that passes every check (each chunk's CRC32C, then counts and digests),
   * trying older ones in turn. One older than `logFrom` cannot be replayed forward and is
   * skipped. With `dropBad` (at boot), a snapshot that fails is removed after it is reported.
   */
  async loadNewestValid(logFrom: Zxid, dropBad = true): Promise<LoadedSnapshot | undefined> {
    for (const place of await this.list()) {
      if (place.zxid < logFrom) {
        this.log.warn({ snapshot: describe(place), zxid: place.zxid, logFrom }, "snapshot is older than the start of the log: not usable");
        continue;
      }
      try {
        return await this.load(place);
      } catch (err) {
        if (!(err instanceof CorruptValueError || err instanceof DecodeError || err instanceof AssertionError)) throw err;
        this.log.error({ err, snapshot: describe(place), zxid: place.zxid }, "snapshot fails its checks: trying an older one");
        if (dropBad) await this.clearPlace(place);
      }
    }
    return undefined;
  }

  private async load(place: SnapshotPlace): Promise<LoadedSnapshot> {
    const hk = placeHeaderKey(place);
    const raw = await this.db.get(hk);
    if (raw === undefined) throw new CorruptValueError(hk, "missing");
    const header = unframe(hk, raw);
    const meta = readSnapshotHeader(header);
    const loader = new SnapshotLoader();
    for (let i = 0; i < meta.chunks; i++) {
      const key = placeChunkKey(place, i);
      const c = await this.db.get(key);
      if (c === undefined) throw new CorruptValueError(key, `chunk ${i} of ${meta.chunks} is missing`);
      loader.add(unframe(key, c));
    }
    return loader.finish(header);
  }

  /**
   * The header goes first: a crash part way then leaves chunks without a header (orphans,
   * cleared at boot), never a header whose chunks are gone.
   */
  private async clearPlace(place: SnapshotPlace): Promise<void> {
    await this.db.del(placeHeaderKey(place));
    if ("prefix" in place) return this.clearPrefix(place.prefix);
    await this.db.clear({ gte: LEGACY_CHUNK, lt: LEGACY_CHUNK + "~" });
  }

  private async clearPrefix(prefix: string): Promise<void> {
    await this.db.clear({ gte: prefix, lt: prefix + "~" });
  }

  /** Removes chunks of snapshots that never committed (a crash or a discard mid-way). */
  async clearOrphans(): Promise<void> {
    const committed = new Set<string>();
    const seen = new Set<string>();
    for await (const key of this.db.keys({ gte: SNAP_PREFIX, lt: SNAP_PREFIX + "~" })) {
      // Only per-snapshot prefixes: never the legacy keys.
      const prefix = SNAPSHOT_PREFIX.exec(key)?.[0];
      if (prefix === undefined) continue;
      seen.add(prefix);
      if (key === headerKey(prefix)) committed.add(prefix);
    }
    for (const prefix of seen) if (!committed.has(prefix)) await this.clearPrefix(prefix);
    if ((await this.db.get(LEGACY_HEADER)) === undefined) await this.db.clear({ gte: LEGACY_CHUNK, lt: LEGACY_CHUNK + "~" });
  }
}
