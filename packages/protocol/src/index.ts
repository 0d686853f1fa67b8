export * from "./codes.ts";
export * from "./paths.ts";
export * from "./zxid.ts";
export * from "./types.ts";
export * from "./limits.ts";
export * from "./codec.ts";
export * from "./jute/index.ts";
