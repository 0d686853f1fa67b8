// About how many bytes a transaction takes in memory and on the wire: its data and paths plus a
// fixed allowance for headers. Used to bound things in bytes (the committed window, DIFF
// messages) without encoding anything.
import type { Txn } from "./txn.ts";

const OVERHEAD = 64;

export function txnBytes(txn: Txn): number {
  const b = txn.body;
  const one = (t: { path?: string; data?: Uint8Array }): number => OVERHEAD + (t.path?.length ?? 0) + (t.data?.length ?? 0);
  if (b.type === "multi") return b.ops.reduce((n, op) => n + one(op), OVERHEAD);
  if (b.type === "closeSession") return b.ephemerals.reduce((n, p) => n + 8 + p.length, OVERHEAD);
  return one(b as { path?: string; data?: Uint8Array });
}
