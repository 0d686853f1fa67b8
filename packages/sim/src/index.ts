export { SimCluster, defaultSimOptions, type SimOptions } from "./cluster.ts";
export { HistoryChecker, InvariantViolation } from "./checker.ts";
export { Random } from "./random.ts";
export { History } from "./history.ts";
export { checkLinearizable, describeOp, describeState, step, ABSENT, Err, type HistoryOp, type KeyState, type OpInput, type OpOutput, type LinearizabilityResult } from "./linearizability.ts";
