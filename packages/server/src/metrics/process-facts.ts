// Facts about this process that Node does not keep as counters.
import { readdirSync } from "node:fs";

/**
 * Open file descriptors (ZooKeeper's open_file_descriptor_count): the entries of /proc/self/fd,
 * as prom-client's process_open_fds reads them. A readdir of a small kernel directory, done only
 * when a monitor asks; undefined where there is no /proc (then the row is left out, not faked).
 */
export function openFileDescriptors(): number | undefined {
  try {
    // The listing itself holds one descriptor open while it reads.
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return undefined;
  }
}
