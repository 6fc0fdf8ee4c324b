/**
 * Argv as tracer stores it: at most ARGV_CAP_BYTES of command-line text (the kernel allows up to
 * ARG_MAX, 2 MiB or more), with the whole length and a marker when it was cut, so no tool can hide the
 * tail of its command line without the record saying so. And the count of processes that exec'd but
 * are recorded without any argv (they ended before anyone could read /proc/PID/cmdline).
 */
import { ARGV_CAP_BYTES } from "../../ffi/execwatch.ts";

export { ARGV_CAP_BYTES };

/** A command line as stored: `argvBytes` counts each argument's UTF-8 bytes plus its NUL, as /proc holds it. */
export interface StoredArgv {
  argv?: string[];
  argvBytes?: number;
  /** argv keeps only the first ARGV_CAP_BYTES of the command line (the last argument kept may be cut) */
  argvTruncated?: boolean;
}

/**
 * Cut a command line to its first `cap` bytes, as the exec watcher does (ffi/execwatch.c): whole
 * arguments while they fit, then the head of the argument that crosses the cap. Undefined stays
 * undefined (the process was gone).
 */
export function capArgv(argv: string[] | undefined, cap = ARGV_CAP_BYTES): StoredArgv {
  if (argv === undefined) return { argv: undefined, argvBytes: undefined, argvTruncated: undefined };
  let bytes = 0;
  let kept: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const len = Buffer.byteLength(arg);
    if (kept === undefined && bytes + len + 1 > cap) {
      kept = argv.slice(0, i);
      if (bytes < cap)
        kept.push(
          Buffer.from(arg)
            .subarray(0, cap - bytes)
            .toString(),
        );
    }
    bytes += len + 1;
  }
  return kept === undefined
    ? { argv, argvBytes: bytes, argvTruncated: false }
    : { argv: kept, argvBytes: bytes, argvTruncated: true };
}

/** The argv fields of a record (a fresh fork shares its parent's). */
export const argvOf = (r: StoredArgv): StoredArgv => ({
  argv: r.argv,
  argvBytes: r.argvBytes,
  argvTruncated: r.argvTruncated,
});

/** Processes recorded without argv although they exec'd: each counted once, uncounted if a later exec names it. */
export class ArgvLoss {
  private readonly unnamed = new WeakSet<object>();
  count = 0;

  /** After an exec was handled: `rec.argv` tells whether it was read. */
  settle(rec: StoredArgv & object): void {
    if (rec.argv?.length) {
      if (this.unnamed.delete(rec)) this.count--;
    } else if (!this.unnamed.has(rec)) {
      this.unnamed.add(rec);
      this.count++;
    }
  }
}
