// The CLI as a library, for tests and for tools that want to run keeper commands in-process.
export { runCli, usage, type CliDeps } from "./cli.ts";
export { COMMANDS, findCommand, parseCommandArgs, createModeOf, type CommandSpec } from "./commands.ts";
export { runServer, type ServerDeps, type SignalSource } from "./server.ts";
export { parseServerInvocation, nodeDataDir } from "./server-options.ts";
export { runShell, executeLine } from "./shell.ts";
export { ExitCode } from "./errors.ts";
export type { KeeperClient, Connect, ServerModule } from "./ports.ts";
export { runEnsemble, notReady, type EnsembleDeps } from "./ensemble.ts";
export { parseEnsembleArgs, planEnsemble, peerList, ensembleHelp, type EnsembleOptions, type EnsemblePlan } from "./ensemble-plan.ts";
export { runStatus, fetchStatuses, formatStatusTable, statusAddresses, statusExitCode, type NodeStatus, type StatusResult } from "./status.ts";
