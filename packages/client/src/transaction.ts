// A builder for multi: ops are collected in order and sent as one all-or-nothing request.
// Argument errors are kept and reported by commit(), so a chain never throws half-way.

import type { MultiOp, MultiOpResult } from "@keeper/protocol";
import { checkVersion, createRequest, toBytes, type CallOptions, type CreateOptions } from "./requests.ts";

export type TransactionCreateOptions = Omit<CreateOptions, keyof CallOptions>;
type Commit = (ops: MultiOp[], opts?: CallOptions) => Promise<MultiOpResult[]>;

export class Transaction {
  private readonly ops: MultiOp[] = [];
  private error: unknown;

  constructor(private readonly commitOps: Commit) {}

  create(path: string, data?: Uint8Array | string, opts?: TransactionCreateOptions): this {
    return this.add(() => createRequest(path, data, opts));
  }

  delete(path: string, version = -1): this {
    return this.add(() => ({ type: "delete", path, version: checkVersion(version) }));
  }

  setData(path: string, data: Uint8Array | string, version = -1): this {
    return this.add(() => ({ type: "setData", path, data: toBytes(data), version: checkVersion(version) }));
  }

  check(path: string, version: number): this {
    return this.add(() => ({ type: "check", path, version: checkVersion(version) }));
  }

  /** The ops collected so far, in order. */
  get size(): number {
    return this.ops.length;
  }

  commit(opts?: CallOptions): Promise<MultiOpResult[]> {
    if (this.error !== undefined) return Promise.reject(this.error);
    return this.commitOps([...this.ops], opts);
  }

  private add(build: () => MultiOp): this {
    if (this.error !== undefined) return this;
    try {
      this.ops.push(build());
    } catch (e) {
      this.error = e;
    }
    return this;
  }
}
