// Checking a backup file and seeding a node's store from it (`keeper backup`, `keeper restore`).
import { mkdir, readdir, rm } from "node:fs/promises";
import { SnapshotLoader, type SnapshotMeta } from "@keeper/core";
import { epochOf, type Zxid } from "@keeper/protocol";
import { Store, type SnapshotSink } from "../storage/store.ts";
import { BackupDecoder, BackupFormatError, type BackupItem } from "./format.ts";

export interface BackupSummary extends SnapshotMeta {
  sha256: string;
  bytes: number;
}

/**
 * Checks a backup as its bytes arrive: frames, order and SHA-256 (BackupDecoder), then the
 * snapshot itself, rebuilt node by node and compared with its header's counts and digest.
 * `onItem` sees each checked item (restore stores the chunks as they pass).
 */
export class BackupVerifier {
  private readonly decoder = new BackupDecoder();
  private readonly loader = new SnapshotLoader();
  private zxid: Zxid | undefined;
  private meta: SnapshotMeta | undefined;
  private sha256: string | undefined;

  get bytes(): number {
    return this.decoder.bytes;
  }
  get chunks(): number {
    return this.loader.chunks;
  }

  async push(data: Uint8Array, onItem?: (item: BackupItem) => Promise<void>): Promise<void> {
    for (const item of this.decoder.push(data)) {
      if (item.type === "start") this.zxid = item.zxid;
      else if (item.type === "chunk") this.loader.add(item.body);
      else if (item.type === "header") {
        try {
          this.meta = this.loader.finish(item.header).meta;
        } catch (err) {
          throw new BackupFormatError(`the snapshot in the backup does not check out: ${(err as Error).message}`);
        }
        if (this.meta.zxid !== this.zxid) throw new BackupFormatError(`the snapshot is at ${this.meta.zxid}, the backup said ${this.zxid}`);
      } else this.sha256 = item.sha256;
      await onItem?.(item);
    }
  }

  /** The checked backup's summary; throws if the file stopped short. */
  end(): BackupSummary {
    this.decoder.end();
    return { ...this.meta!, sha256: this.sha256!, bytes: this.decoder.bytes };
  }
}

/**
 * Seeds an empty store directory from a backup: the snapshot becomes the node's current one,
 * with an empty log, and the node's accepted and current epochs are set to the snapshot's
 * epoch, so the ensemble's next leader takes a later epoch and new zxids follow the restored
 * ones. Every member restored from the same file starts from the same state and digest. The
 * directory must not exist or be empty; on any failure it is removed again.
 */
export async function restoreBackup(input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, storeDir: string, onProgress?: (bytes: number) => void): Promise<BackupSummary> {
  const existing = await readdir(storeDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
  if (existing.length > 0) throw new BackupFormatError(`${storeDir} is not empty: restore only seeds a new node's store (remove it first if you mean to replace it)`);
  await mkdir(storeDir, { recursive: true });
  let store: Store | undefined;
  try {
    store = await Store.open(storeDir);
    const opened = store;
    const verifier = new BackupVerifier();
    let sink: SnapshotSink | undefined;
    let header: Uint8Array | undefined;
    for await (const data of input) {
      await verifier.push(data, async (item) => {
        if (item.type === "start") sink = opened.openSnapshot(item.zxid);
        else if (item.type === "chunk") await sink!.write([item.body]);
        else if (item.type === "header") header = item.header;
      });
      onProgress?.(verifier.bytes);
    }
    const summary = verifier.end();
    // Only a backup that checked out completely becomes the node's snapshot.
    await sink!.commit(header!);
    const epoch = epochOf(summary.zxid);
    await store.setEpochs({ accepted: epoch, current: epoch });
    await store.close();
    store = undefined;
    return summary;
  } catch (err) {
    await store?.close().catch(() => {});
    await rm(storeDir, { recursive: true, force: true });
    throw err;
  }
}
