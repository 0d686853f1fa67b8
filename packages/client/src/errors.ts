import { Code, KeeperError } from "@keeper/protocol";
import type { MultiOpResult } from "@keeper/protocol";

/**
 * A multi that the server refused as a whole. `code` is the first failing op's code and
 * `results` holds one entry per op: OK for ops before the failure, the failure itself,
 * RUNTIMEINCONSISTENCY for ops after it.
 */
export class MultiError extends KeeperError {
  readonly results: MultiOpResult[];
  /** Index of the op that failed, or -1 when the server named none. */
  readonly failedIndex: number;
  constructor(code: Code, results: MultiOpResult[]) {
    const failedIndex = results.findIndex((r) => r.type === "error" && r.err !== Code.OK && r.err !== Code.RUNTIMEINCONSISTENCY);
    super(code, failedIndex < 0 ? "multi failed" : `multi failed at op ${failedIndex}`);
    this.name = "MultiError";
    this.results = results;
    this.failedIndex = failedIndex;
  }
}

export function connectionLoss(detail?: string): KeeperError {
  return new KeeperError(Code.CONNECTIONLOSS, detail);
}

export function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  return new DOMException("the operation was aborted", "AbortError");
}
