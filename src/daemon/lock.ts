/**
 * Advisory whole-file locks (flock). The kernel drops them when the holder dies, so a lock can never be
 * stale: this is how a killed daemon is told apart from a live one, and how concurrent `init`s queue.
 */
import { O_CLOEXEC } from "../core/fsflags.ts";
import { closeSync, constants, openSync } from "node:fs";
import { tryLockExclusive } from "../../ffi/libc.ts";
import { TracerError } from "../errors.ts";
import { shownPath } from "../core/trusted.ts";

export class FileLock {
  private constructor(
    readonly path: string,
    private fd: number | undefined,
  ) {}

  /** Take the lock now or return undefined if someone holds it. */
  static tryAcquire(path: string): FileLock | undefined {
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | O_CLOEXEC | constants.O_NOFOLLOW, 0o600);
    if (tryLockExclusive(fd)) return new FileLock(path, fd);
    closeSync(fd);
    return undefined;
  }

  /** Wait (polling, so the event loop stays free) up to `timeoutMs` for the lock. */
  static async acquire(path: string, timeoutMs: number, what: string): Promise<FileLock> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      const lock = FileLock.tryAcquire(path);
      if (lock) return lock;
      if (Date.now() > deadline)
        throw new TracerError(
          "E_LOCK_TIMEOUT",
          `timed out after ${timeoutMs} ms waiting for ${what} (${shownPath(path)})`,
        );
      await Bun.sleep(delay);
    }
  }

  /** True when nobody holds the lock at `path` (probe: take and release it). */
  static isFree(path: string): boolean {
    try {
      const lock = FileLock.tryAcquire(path);
      lock?.release();
      return lock !== undefined;
    } catch {
      return true;
    }
  }

  release(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd); // closing the only descriptor drops the flock
    this.fd = undefined;
  }
}
