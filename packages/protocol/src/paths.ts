import { Code, KeeperError } from "./codes.ts";
import { limits } from "./limits.ts";

/**
 * Checks a znode path against ZooKeeper's rules (PathUtils.validatePath) and returns a
 * reason when it breaks one. `sequential` allows a trailing "/" because the server appends
 * the counter to it.
 */
export function pathProblem(path: string, sequential = false): string | undefined {
  if (typeof path !== "string") return "path must be a string";
  // As ZooKeeper does: a sequential path is checked with a counter digit appended.
  if (sequential) return pathProblem(path + "1");
  if (path.length === 0) return "path must not be empty";
  if (path.length > limits.pathLengthMax) return `path is ${path.length} characters, max ${limits.pathLengthMax}`;
  if (path[0] !== "/") return "path must start with /";
  if (path.length === 1) return undefined;
  if (path.endsWith("/")) return "path must not end with /";
  for (const part of path.split("/").slice(1)) {
    if (part.length === 0) return "empty node name";
    if (part === "." || part === "..") return `relative name "${part}" is not allowed`;
  }
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return `null character at ${i}`;
    if ((c > 0x00 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f)) return `control character at ${i}`;
    if ((c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff)) return `invalid character at ${i}`;
  }
  return undefined;
}

/** Throws BADARGUMENTS with the reason when `path` is not a valid znode path. */
export function validatePath(path: string, sequential = false): void {
  const problem = pathProblem(path, sequential);
  if (problem !== undefined) throw new KeeperError(Code.BADARGUMENTS, `invalid path: ${problem}`, path);
}

/** The parent of a valid path; the parent of "/" is "". */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? (path === "/" ? "" : "/") : path.slice(0, i);
}

/** The last component of a valid path; "" for "/". */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Joins a parent path and a child name. */
export function joinPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** The 10-digit zero-padded counter ZooKeeper appends to sequential names. */
export function sequenceSuffix(counter: number): string {
  // ZooKeeper formats a signed 32-bit int with %010d, so after overflow it goes negative.
  const n = counter | 0;
  return n < 0 ? `-${String(-n).padStart(9, "0")}` : String(n).padStart(10, "0");
}

/** Prefixes a chroot to a client path, and strips it from a server path. */
export function withChroot(chroot: string, path: string): string {
  if (chroot === "" || chroot === "/") return path;
  return path === "/" ? chroot : chroot + path;
}

export function withoutChroot(chroot: string, path: string): string {
  if (chroot === "" || chroot === "/") return path;
  if (path === chroot) return "/";
  return path.startsWith(chroot + "/") ? path.slice(chroot.length) : path;
}
