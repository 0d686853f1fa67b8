export { startServer, zabConfig, type RunningServer } from "./server.ts";
export { resolveServerConfig, defaultServerConfig, parsePeers, canonicalPeers, ConfigError, LOG_LEVELS, type ServerConfig, type PeerAddress } from "./config.ts";
export { Store, txnKey } from "./storage/store.ts";
export { createNodeLogger, type Logger } from "./logger.ts";
export { BackupDecoder, BackupEncoder, BackupFormatError, BACKUP_MAGIC } from "./backup/format.ts";
export { BackupVerifier, restoreBackup, type BackupSummary } from "./backup/restore.ts";
