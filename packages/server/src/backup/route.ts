// GET /backup on the admin port: streams a backup (format.ts) of this node's applied state at
// one zxid. A SnapshotWriter fixes the zxid when the request arrives and copies any node just
// before a later transaction changes it, so the file is exactly the state at that zxid while
// the node goes on applying writes (not a fuzzy snapshot, not a client-side walk). It writes in
// slices of a few milliseconds and waits for the socket to drain, so neither a large tree nor
// a slow reader stalls the node.
import type { IncomingMessage, ServerResponse } from "node:http";
import { SnapshotWriter, type ReplicatedState } from "@keeper/core";
import { formatZxid } from "@keeper/protocol";
import type { Logger } from "../logger.ts";
import { backupRefusal } from "./access.ts";
import { BackupEncoder } from "./format.ts";

/** Backups streamed at once; more are refused with 503 (each holds copies of changed nodes). */
export const BACKUPS_AT_ONCE_MAX = 2;
/** A reader that takes nothing for this long is dropped, so a stalled copy cannot pin memory. */
export const BACKUP_STALL_MS = 30_000;
const SLICE_MS = 5;
const STEP_NODES = 256;

interface Run {
  writer: SnapshotWriter;
  res: ServerResponse;
  stopped?: string;
}

export class BackupRoute {
  private readonly running = new Set<Run>();

  constructor(
    private readonly state: () => ReplicatedState,
    private readonly log: Logger,
    /** The ensemble's super user (ZooKeeper's superDigest), or "": see access.ts. */
    private readonly superDigest = "",
  ) {}

  /** Serves GET /backup; false for any other path, which the caller then handles. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path !== "/backup") return false;
    if (req.method !== "GET") {
      res.writeHead(405, { "content-type": "text/plain", allow: "GET" }).end("method not allowed: GET /backup\n");
      return true;
    }
    const refused = backupRefusal(req, this.superDigest);
    if (refused) {
      this.log.warn({ remote: req.socket.remoteAddress, status: refused.status }, "backup refused");
      res.writeHead(refused.status, { "content-type": "text/plain", ...(refused.status === 401 ? { "www-authenticate": 'Basic realm="keeper backup"' } : {}) }).end(refused.message);
      return true;
    }
    if (this.running.size >= BACKUPS_AT_ONCE_MAX) {
      res.writeHead(503, { "content-type": "text/plain", "retry-after": "5" }).end(`${this.running.size} backups are being taken already; retry later\n`);
      return true;
    }
    this.stream(res).catch((err: unknown) => {
      this.log.warn({ err }, "backup failed");
      res.destroy();
    });
    return true;
  }

  /** Stops every backup in progress (the node's state is being replaced wholesale). */
  abortAll(reason: string): void {
    for (const run of this.running) this.stop(run, reason);
  }

  private stop(run: Run, reason: string): void {
    if (run.stopped !== undefined) return;
    run.stopped = reason;
    run.writer.abort();
    run.res.destroy();
  }

  private async stream(res: ServerResponse): Promise<void> {
    const { tree, sessions } = this.state();
    const writer = new SnapshotWriter(tree, sessions);
    const run: Run = { writer, res };
    this.running.add(run);
    res.on("close", () => {
      if (!res.writableFinished) this.stop(run, "the reader went away");
    });
    const started = performance.now();
    const encoder = new BackupEncoder();
    let bytes = 0;
    const send = async (piece: Buffer): Promise<void> => {
      bytes += piece.length;
      if (res.write(piece) || run.stopped !== undefined) return;
      await drained(res);
    };
    try {
      res.writeHead(200, { "content-type": "application/octet-stream", "cache-control": "no-store", "x-keeper-zxid": formatZxid(writer.zxid), "x-keeper-digest": tree.digest() });
      await send(encoder.start(writer.zxid));
      for (;;) {
        const t0 = performance.now();
        let done = false;
        while (!done && performance.now() - t0 < SLICE_MS) done = writer.step(STEP_NODES);
        if (run.stopped !== undefined) break;
        for (const chunk of writer.takeChunks()) await send(encoder.chunk(chunk));
        if (run.stopped !== undefined) break;
        if (done) break;
        await new Promise((r) => setImmediate(r));
      }
      if (run.stopped !== undefined) {
        this.log.warn({ zxid: writer.zxid, reason: run.stopped }, "backup abandoned");
        return;
      }
      const { meta, header } = writer.result();
      const last = encoder.finish(header);
      bytes += last.length;
      res.end(last);
      this.log.info({ zxid: meta.zxid, nodes: meta.nodes, sessions: meta.sessions, bytes, ms: Math.round(performance.now() - started) }, "backup served");
    } catch (err) {
      this.stop(run, err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      this.running.delete(run);
    }
  }
}

/** Resolves when the socket drains; rejects when it closes or stalls first. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      res.off("drain", onDrain);
      res.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error("the reader closed the connection"));
    const timer = setTimeout(() => done(new Error(`the reader took nothing for ${BACKUP_STALL_MS} ms`)), BACKUP_STALL_MS);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}
