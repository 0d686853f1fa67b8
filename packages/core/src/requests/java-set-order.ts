// The order in which ZooKeeper 3.8 iterates a connection's identities: they live in a set backed
// by a java.util.concurrent.ConcurrentHashMap, so "auth" ACL entries expand, and whoAmI lists,
// in hash-table order, not in the order the client authenticated. Clients see that order (in
// getACL after an "auth" create, and in whoAmI), so Keeper reproduces it.

/** java.lang.String.hashCode: over UTF-16 code units, in 32-bit arithmetic. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The jute-generated hashCode of org.apache.zookeeper.data.Id (scheme, id). */
export function javaIdHash(scheme: string, id: string): number {
  let result = 17;
  result = (Math.imul(37, result) + javaStringHash(scheme)) | 0;
  result = (Math.imul(37, result) + javaStringHash(id)) | 0;
  return result;
}

/**
 * `items` (distinct, in insertion order) in ConcurrentHashMap iteration order: by bin, the
 * table starting at 16 bins and doubling when three quarters full; insertion order within a bin.
 */
export function javaSetOrder<T>(items: readonly T[], key: (t: T) => { scheme: string; id: string }): T[] {
  let bins = 16;
  while (items.length >= bins * 0.75) bins *= 2;
  const bin = (t: T): number => {
    const { scheme, id } = key(t);
    const h = javaIdHash(scheme, id);
    return ((h ^ (h >>> 16)) & 0x7fffffff) & (bins - 1);
  };
  return items
    .map((t, i) => ({ t, i, b: bin(t) }))
    .sort((x, y) => x.b - y.b || x.i - y.i)
    .map((x) => x.t);
}
