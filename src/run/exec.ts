/**
 * What CMD is, before it is started, and what a failed exec means, the way a shell says it: not found
 * 127; found but not runnable (no x bit, a directory, a bad format) 126; a script whose interpreter (or a
 * binary whose loader) is missing 127, as bash 5.2 reports it ("cannot execute: required file not found").
 */
import { accessSync, closeSync, constants, openSync, readSync, statSync } from "../../ffi/fs.ts";
import { join } from "../core/path.ts";
import { sanitize } from "../core/sanitize.ts";

/** CMD could not be started; `status` is what a shell reports (127 not found, 126 not runnable). */
export class NotRunnable extends Error {
  override readonly name = "NotRunnable";
  constructor(
    message: string,
    readonly status: number,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

/** User-typed text and file contents go to a terminal: shown as every text output shows them. */
const shown = sanitize;

// no exception for a missing file: PATH's search misses in most of its directories, and each thrown
// error costs tens of µs at tracer run's start (issue 15)
const isFile = (p: string) => {
  try {
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
};
const executable = (p: string) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The file to exec for `name`: itself when it has a slash, else the first executable regular file
 * named so in PATH (execvp's search; glibc's default PATH when unset). When PATH only holds a file
 * that is not executable, that file (the exec then fails with EACCES → 126, as execvp reports).
 * Throws NotRunnable (127) when there is none.
 */
export function resolveCommand(name: string, env: Record<string, string | undefined>): string {
  if (name.includes("/")) return name;
  if (name === "") throw new NotRunnable(`'': command not found`, 127);
  let denied: string | undefined;
  for (const dir of (env.PATH ?? "/bin:/usr/bin").split(":")) {
    const p = join(dir || ".", name);
    if (isFile(p)) {
      if (executable(p)) return p;
      denied ??= p;
    }
  }
  if (denied) return denied;
  throw new NotRunnable(`${shown(name)}: command not found`, 127);
}

/** The #! interpreter of a script, or undefined (a binary, unreadable). */
function interpreter(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const b = Buffer.alloc(256);
    const n = readSync(fd, b, 0, b.length, 0);
    const head = b.subarray(0, n).toString("latin1");
    if (!head.startsWith("#!")) return undefined;
    return head.slice(2).split("\n")[0]!.trim().split(/[ \t]/)[0];
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const MESSAGES: Record<number, string> = {
  1: "Operation not permitted",
  7: "Argument list too long",
  8: "Exec format error",
  12: "Cannot allocate memory",
  13: "Permission denied",
  20: "Not a directory",
  26: "Text file busy",
  36: "File name too long",
  40: "Too many levels of symbolic links",
};

/** The NotRunnable for an exec of `path` (CMD typed as `name`) that failed with `errno`. */
export function execFailure(name: string, path: string, errno: number): NotRunnable {
  const what = shown(path === name ? name : `${name} (${path})`);
  if (errno === 2) {
    if (!isFile(path)) return new NotRunnable(`${what}: No such file or directory`, 127);
    const interp = interpreter(path);
    return new NotRunnable(
      interp
        ? `${what}: bad interpreter ${shown(interp)}: No such file or directory`
        : `${what}: cannot execute: required file not found (its ELF interpreter is missing)`,
      127,
    );
  }
  if (errno === 13) {
    let dir = false;
    try {
      dir = statSync(path).isDirectory();
    } catch {}
    return new NotRunnable(`${what}: ${dir ? "Is a directory" : "Permission denied"}`, 126);
  }
  return new NotRunnable(`${what}: ${MESSAGES[errno] ?? `cannot execute (errno ${errno})`}`, 126);
}
