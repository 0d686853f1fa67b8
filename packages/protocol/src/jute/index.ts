// ZooKeeper's client wire protocol: jute records and length-prefixed frames.
export * from "./buffer.ts";
export * from "./constants.ts";
export * from "./records.ts";
export * from "./op-records.ts";
export * from "./multi.ts";
export * from "./frame.ts";
export * from "./client-codec.ts";
