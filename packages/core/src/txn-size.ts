// About how many bytes a transaction takes in memory and on the wire: its data and paths plus a
// fixed allowance for headers. Used to bound things in bytes (the committed window, DIFF
// messages) without encoding anything.
import type { Txn } from "./txn.ts";

const OVERHEAD = 64;

// Loops and a module function, not closures: this runs for every transaction a node logs.
function one(t: { path?: string; data?: Uint8Array }): number {
  return OVERHEAD + (t.path?.length ?? 0) + (t.data?.length ?? 0);
}

export function txnBytes(txn: Txn): number {
  const b = txn.body;
  let n = OVERHEAD;
  if (b.type === "multi") {
    for (const op of b.ops) n += one(op);
    return n;
  }
  if (b.type === "closeSession") {
    for (const p of b.ephemerals) n += 8 + p.length;
    return n;
  }
  return one(b as { path?: string; data?: Uint8Array });
}
