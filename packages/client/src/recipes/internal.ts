// Helpers every recipe shares: retrying after connection loss, ZooKeeper's "protected"
// create for sequential ephemerals, sequence ordering, deadlines and serialized refresh
// passes. Nothing here is public API.

import { Code, CreateMode, KeeperError, type Stat } from "@keeper/protocol";
import type { KeeperClient } from "../client.ts";
import { RecipeError } from "./errors.ts";

/** Options of every call that may wait. */
export interface WaitOptions {
  /** Give up after this long with RecipeError TIMEOUT; no limit when unset. */
  timeoutMs?: number;
  /** Abort the wait; the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

export function isCode(e: unknown, code: Code): boolean {
  return e instanceof KeeperError && e.code === code;
}

/** The RecipeError for a client that can no longer serve the recipe, or undefined while it can. */
export function endedError(client: KeeperClient, cause?: unknown): RecipeError | undefined {
  if (client.state === "expired") return new RecipeError("SESSION_EXPIRED", "the session expired; its ephemeral nodes are gone", { cause });
  if (client.state === "closed") return new RecipeError("CLOSED", "the client was closed", { cause });
  return undefined;
}

/** A session that ended shows as SESSIONEXPIRED or as CONNECTIONLOSS on a closed client; both become a RecipeError. */
export function translate(client: KeeperClient, e: unknown): unknown {
  if (isCode(e, Code.SESSIONEXPIRED) || isCode(e, Code.CONNECTIONLOSS)) return endedError(client, e) ?? e;
  return e;
}

/**
 * Runs `op`, repeating it after CONNECTIONLOSS while the session lives. While the client is
 * disconnected a repeated request waits in the client's queue, so this does not spin. Only
 * for ops that are safe to repeat: reads, and writes whose "already done" outcome
 * (NODEEXISTS, NONODE) the caller handles.
 */
export async function retrying<T>(client: KeeperClient, op: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (;;) {
    try {
      return await op();
    } catch (e) {
      const t = translate(client, e);
      if (!isCode(t, Code.CONNECTIONLOSS)) throw t;
      signal?.throwIfAborted();
    }
  }
}

export function joinPath(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Creates `path` and its missing ancestors as persistent nodes; existing ones are fine. */
export async function ensurePath(client: KeeperClient, path: string, signal?: AbortSignal): Promise<void> {
  if ((await retrying(client, () => client.exists(path), signal)) !== null) return;
  let at = "";
  for (const part of path.split("/").filter((p) => p !== "")) {
    at += `/${part}`;
    const target = at;
    await retrying(client, async () => {
      try {
        await client.create(target);
      } catch (e) {
        if (!isCode(e, Code.NODEEXISTS)) throw e;
      }
    }, signal);
  }
}

/** Deletes `path`, repeating after connection loss; a node already gone is fine. */
export async function deleteIfExists(client: KeeperClient, path: string, version = -1): Promise<void> {
  await retrying(client, async () => {
    try {
      await client.delete(path, version);
    } catch (e) {
      if (!isCode(e, Code.NONODE)) throw e;
    }
  });
}

/** The counter a sequential create appended: the last 10 digits of the name. */
export function sequenceOf(name: string): number {
  const digits = name.slice(-10);
  return /^\d{10}$/.test(digits) ? Number(digits) : -1;
}

export function bySequence(a: string, b: string): number {
  return sequenceOf(a) - sequenceOf(b) || (a < b ? -1 : a > b ? 1 : 0);
}

export function newGuid(): string {
  return globalThis.crypto.randomUUID();
}

/** Prefix of protected names: `_c_<guid>-<prefix><sequence>`, as Curator writes them. */
export const PROTECTED_PREFIX = "_c_";

/** The recipe-level prefix of a (possibly protected) sequential name: "lock-" in "_c_<guid>-lock-0000000003". */
export function namePrefix(name: string): string {
  const body = name.startsWith(PROTECTED_PREFIX) ? name.slice(PROTECTED_PREFIX.length + 37) : name;
  return body.slice(0, -10);
}

/**
 * Creates an ephemeral- (or persistent-) sequential node under `dir` whose name carries a
 * GUID, ZooKeeper's "protected" create. After CONNECTIONLOSS the create may or may not
 * have happened: instead of creating again (which could leave an orphan node that blocks
 * a lock for the rest of the session) it lists `dir` and adopts the node with its GUID.
 */
export async function createProtected(client: KeeperClient, dir: string, prefix: string, data: Uint8Array | string | undefined, mode: CreateMode): Promise<string> {
  const guid = newGuid();
  const name = `${PROTECTED_PREFIX}${guid}-${prefix}`;
  for (;;) {
    try {
      return await client.create(joinPath(dir, name), data, { mode });
    } catch (e) {
      const t = translate(client, e);
      if (!isCode(t, Code.CONNECTIONLOSS)) throw t;
      const { children } = await retrying(client, () => client.getChildren(dir));
      const mine = children.find((c) => c.startsWith(name));
      if (mine !== undefined) return joinPath(dir, mine);
    }
  }
}

/** Deletes whatever node a still-pending protected create produces; for callers that gave up waiting for it. */
export function abandon(client: KeeperClient, created: Promise<string>): void {
  created.then((path) => deleteIfExists(client, path)).catch(() => undefined);
}

export interface Deadline {
  readonly signal: AbortSignal;
  dispose(): void;
}

/** One signal for "the caller aborted or `timeoutMs` passed"; the timeout's reason is RecipeError TIMEOUT. */
export function deadline(opts: WaitOptions | undefined, what: string): Deadline {
  const ctl = new AbortController();
  const outer = opts?.signal;
  const onAbort = (): void => ctl.abort(outer!.reason);
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (outer?.aborted === true) ctl.abort(outer.reason);
  else outer?.addEventListener("abort", onAbort, { once: true });
  const ms = opts?.timeoutMs;
  if (ms !== undefined && !ctl.signal.aborted) {
    if (!Number.isFinite(ms) || ms < 0) throw new KeeperError(Code.BADARGUMENTS, `bad timeoutMs ${ms}`);
    timer = setTimeout(() => ctl.abort(new RecipeError("TIMEOUT", `${what} timed out after ${ms} ms`)), ms);
  }
  return {
    signal: ctl.signal,
    dispose: () => {
      if (timer !== undefined) clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    },
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Waits for `fired`, or rejects when `signal` aborts or the client's session ends. */
export function waitFor<T>(client: KeeperClient, fired: Promise<T>, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const ended = endedError(client);
    if (ended !== undefined) return reject(ended);
    if (signal?.aborted === true) return reject(signal.reason);
    const cleanup = (): void => {
      signal?.removeEventListener("abort", onAbort);
      client.off("state", onState);
    };
    const onAbort = (): void => {
      cleanup();
      reject(signal!.reason);
    };
    const onState = (): void => {
      const err = endedError(client);
      if (err === undefined) return;
      cleanup();
      reject(err);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    client.on("state", onState);
    fired.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e) => {
        cleanup();
        reject(e);
      },
    );
  });
}

/**
 * Runs `task` one pass at a time. A trigger while a pass runs queues exactly one more pass
 * (triggers that arrive before it starts join it), so every change is looked at by a pass
 * that started after it, and passes never overlap. Errors go to `onError`.
 */
export class SerialRunner {
  private tail: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (e: unknown) => void,
  ) {}

  trigger(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const next = this.tail.then(async () => {
      this.queued = undefined;
      try {
        await this.task();
      } catch (e) {
        this.onError(e);
      }
    });
    this.queued = next;
    this.tail = next;
    return next;
  }
}

/** Same node, same content: compares what a cache reports as a change. */
export function sameStat(a: Stat | undefined, b: Stat | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.czxid === b.czxid && a.mzxid === b.mzxid && a.version === b.version;
}
