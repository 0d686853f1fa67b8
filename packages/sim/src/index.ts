export { SimCluster, defaultSimOptions, type SimOptions } from "./cluster.ts";
export { HistoryChecker, InvariantViolation } from "./checker.ts";
export { Random } from "./random.ts";
