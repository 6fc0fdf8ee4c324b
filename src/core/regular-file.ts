/**
 * Reading the head of a file that must be a regular one: opened without blocking (a FIFO opens at once
 * instead of waiting for a writer), checked with fstat on the opened fd (no check-then-open race), and
 * read in one bounded loop from offset 0 — never more than `cap` bytes, whatever the file's size says
 * (a file may grow between fstat and read; /dev/zero has no end). Used for files a user names that may
 * come with a pipeline (rule files), minisign's signature and key files, and (the read loop alone)
 * paths taken from recorded data (./untrusted.ts).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { O_CLOEXEC } from "./fsflags.ts";

/** The file opened is no regular file: a directory, or another kind (FIFO, socket, device). */
export class NotRegularFile extends Error {
  constructor(readonly kind: "directory" | "other") {
    super(kind === "directory" ? "is a directory" : "is not a regular file");
  }
}

/** At most `cap` bytes of the open file `fd`, from offset 0 (fewer at its end). */
export function readHeadOf(fd: number, cap: number): Buffer {
  const buf = Buffer.alloc(cap);
  let n = 0;
  while (n < buf.length) {
    const got = readSync(fd, buf, n, buf.length - n, n);
    if (got <= 0) break;
    n += got;
  }
  return buf.subarray(0, n);
}

/**
 * At most `cap` bytes of the regular file at `path`. Throws NotRegularFile, or the error of open or
 * read (ENOENT, EACCES…).
 */
export function readRegularHead(path: string, cap: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | O_CLOEXEC);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFile(st.isDirectory() ? "directory" : "other");
    return readHeadOf(fd, cap);
  } finally {
    closeSync(fd);
  }
}
