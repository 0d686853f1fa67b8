// Requests between the API and the socket: a bounded FIFO of requests waiting for a
// connection, and the in-flight map from xid to caller. FIFO order per client holds
// because a new request always joins the tail of the queue, and the queue drains in order.

import { Code, KeeperError, type Request, type ServerMessage } from "@keeper/protocol";
import { clientLimits, XID_MAX } from "./constants.ts";
import { abortReason, connectionLoss } from "./errors.ts";
import type { CallOptions } from "./requests.ts";

export type ResponseMessage = Extract<ServerMessage, { kind: "response" }>;
/** Puts one request on the wire; false when the socket is already gone. */
export type Sender = (xid: number, request: Request) => boolean;

interface Call {
  readonly request: Request;
  /** Runs synchronously when the response frame arrives; ignored once the call settled. */
  complete(msg: ResponseMessage): void;
  fail(error: unknown): void;
}

export class Pipeline {
  private readonly queue: Call[] = [];
  private readonly inFlight = new Map<number, Call>();
  private lastXid = 0;
  private sender: Sender | undefined;

  /**
   * Queues `request` and resolves with `settle(response)`; settle runs synchronously on the
   * frame, so side effects such as watch registration happen before any later frame.
   */
  submit<T>(request: Request, opts: CallOptions | undefined, settle: (msg: ResponseMessage) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const signal = opts?.signal;
      if (signal?.aborted === true) return reject(abortReason(signal));
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => this.cancel(call, abortReason(signal!));
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        return true;
      };
      const call: Call = {
        request,
        complete: (msg) => {
          if (!finish()) return;
          try {
            resolve(settle(msg));
          } catch (e) {
            reject(e);
          }
        },
        fail: (error) => {
          if (finish()) reject(error);
        },
      };
      if (this.queue.length >= clientLimits.queuedRequestsMax) {
        return call.fail(new KeeperError(Code.THROTTLEDOP, `${clientLimits.queuedRequestsMax} requests already wait for the connection`));
      }
      const timeoutMs = opts?.timeoutMs;
      if (timeoutMs !== undefined && timeoutMs > 0) {
        timer = setTimeout(() => this.cancel(call, new KeeperError(Code.OPERATIONTIMEOUT, `no reply within ${timeoutMs} ms`)), timeoutMs);
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(call);
      this.flush();
    });
  }

  /** Sends an internal request (ping, setWatches) ahead of the queue; false when not connected. */
  sendNow(request: Request, onResponse: (msg: ResponseMessage) => void): boolean {
    if (this.sender === undefined) return false;
    const xid = this.nextXid();
    this.inFlight.set(xid, { request, complete: onResponse, fail: () => {} });
    return this.sender(xid, request);
  }

  /**
   * A connection is ready: run `prelude` (which may sendNow, e.g. setWatches, so it goes
   * before anything queued), then drain the queue through `sender`.
   */
  attach(sender: Sender, prelude?: () => void): void {
    this.sender = sender;
    prelude?.();
    this.flush();
  }

  /** The connection is gone: in-flight requests cannot be answered any more. */
  detach(): void {
    this.sender = undefined;
    const calls = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const call of calls) call.fail(connectionLoss("connection lost before the reply"));
  }

  /** Rejects everything still waiting; the client will not connect again. */
  failQueued(error: KeeperError): void {
    const calls = this.queue.splice(0);
    for (const call of calls) call.fail(error);
  }

  /** Matches a response to its caller; false for an xid nobody waits for. */
  deliver(msg: ResponseMessage): boolean {
    const call = this.inFlight.get(msg.xid);
    if (call === undefined) return false;
    this.inFlight.delete(msg.xid);
    call.complete(msg);
    this.flush();
    return true;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * Timeout or abort: a queued call leaves the queue; a sent one stays in the map so its
   * late response is recognised and dropped (the server may still have executed it).
   */
  private cancel(call: Call, error: unknown): void {
    const i = this.queue.indexOf(call);
    if (i >= 0) this.queue.splice(i, 1);
    call.fail(error);
  }

  private flush(): void {
    while (this.sender !== undefined && this.queue.length > 0 && this.inFlight.size < clientLimits.inFlightRequestsMax) {
      const call = this.queue.shift()!;
      const xid = this.nextXid();
      this.inFlight.set(xid, call);
      // A false return means the socket just died; its close handler fails this call.
      this.sender(xid, call.request);
    }
  }

  private nextXid(): number {
    this.lastXid = this.lastXid >= XID_MAX ? 1 : this.lastXid + 1;
    return this.lastXid;
  }
}
