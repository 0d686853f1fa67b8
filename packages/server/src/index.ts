export { startServer, type RunningServer } from "./server.ts";
export { resolveServerConfig, defaultServerConfig, ConfigError, LOG_LEVELS, type ServerConfig } from "./config.ts";
export { Store, txnKey } from "./storage/store.ts";
export { createNodeLogger, type Logger } from "./logger.ts";
