/**
 * Reading a file whose path came from recorded data (a pipeline's cwd or argv): the path is chosen by
 * whoever ran the process, so the read must not block, follow a planted symlink, or read something
 * the process's owner could not have written.
 *
 * - open(2) with O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC: a FIFO opens at once instead of
 *   waiting for a writer; a symlink as the last component fails (ELOOP);
 * - fstat(2) on the opened fd (no check-then-open race): a regular file only (a FIFO, socket or
 *   device is refused), owned by one of the accepted uids, with one link (a hard link planted to
 *   another user's or root's file is refused);
 * - at most `maxBytes` bytes read, from offset 0.
 */
import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { O_CLOEXEC } from "./fsflags.ts";
import { encodeLossless } from "./lossless.ts";
import { readHeadOf } from "./regular-file.ts";

export interface UntrustedRead {
  /** read at most this many bytes (from the start of the file) */
  maxBytes: number;
  /** the file must be owned by one of these uids (e.g. the recorded process's, this process's, root) */
  owners: readonly number[];
}

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | O_CLOEXEC;

/** The uids a report reader trusts when the recorded process's uid is not known: itself and root. */
export const readerOwners = (): number[] => {
  const me = process.getuid?.() ?? 0;
  return me === 0 ? [0] : [me, 0];
};

/**
 * The head of a regular file at an untrusted path, or undefined when it is missing, not a regular
 * file, hard-linked, not owned by an accepted uid, or unreadable. Never blocks on a FIFO or device; never throws.
 */
export function readUntrustedHead(path: string, opts: UntrustedRead): Buffer | undefined {
  let fd: number;
  try {
    // as bytes: a path recorded from a non-UTF-8 name holds U+DC80–U+DCFF for its raw bytes
    fd = openSync(Buffer.from(encodeLossless(path)), FLAGS);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.nlink !== 1 || !opts.owners.includes(st.uid)) return undefined;
    return readHeadOf(fd, Math.min(opts.maxBytes, Math.max(0, st.size)));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
