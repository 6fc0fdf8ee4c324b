/**
 * Trusted directories: tracer's state and runtime dirs are used only when every ancestor is owned by
 * root or the user and not writable by others — a sticky ancestor (such as /tmp) may be, since others
 * cannot rename our entries in it — as OpenSSH's StrictModes does. The check walks from / one component
 * at a time through directory fds (O_PATH|O_DIRECTORY|O_NOFOLLOW, each fstat'ed), so the directory that
 * was checked is the one that is used: files in it are reached as /proc/self/fd/N/NAME, which the kernel
 * resolves through the checked fd however the path is renamed afterwards. An ancestor symlink is followed
 * only when root or the user owns it (its directory being trusted, nobody else can replace it); the
 * directory itself must not be a symlink. Fds stay open for the life of the process (cached per path).
 *
 * Without /proc (other platforms) the same per-component check is made, and files are reached by path.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  openUnlessMissing,
  readlinkSync,
} from "../../ffi/fs.ts";
import { join } from "./path.ts";
import { Exit, TracerError, errnoOf, refused } from "../errors.ts";
import { O_CLOEXEC, S_ISVTX } from "./fsflags.ts";

const LINUX = process.platform === "linux";
/** open a directory as a handle only: no read permission needed to walk through it (Linux) */
const O_PATH = LINUX ? 0o10000000 : constants.O_RDONLY;
const DIR_FLAGS = O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW | O_CLOEXEC;
const MAX_SYMLINKS = 40;

const uid = () => process.getuid?.() ?? -1;

/** A checked directory, held open. */
export interface TrustedDir {
  /** the path as given (for messages) */
  readonly path: string;
  readonly fd: number;
  /** A path reaching `name` inside this directory through the checked fd (Linux: /proc/self/fd/N/name). */
  at(name: string): string;
}

/** Why a directory cannot be trusted: the offending component and what is wrong with it. */
export class UnsafeDir extends Error {
  constructor(
    readonly component: string,
    readonly problem: string,
  ) {
    super(`${component} ${problem}`);
  }
}

const cache = new Map<string, TrustedDir>();
const shownByFd = new Map<number, string>();

const via = (fd: number, real: string, name: string) =>
  LINUX ? `/proc/self/fd/${fd}/${name}` : join(real, name);
const modeText = (m: number) => (m & 0o7777).toString(8).padStart(4, "0");
const trustedOwner = (owner: number) => owner === 0 || owner === uid();

/** An ancestor: owned by root or us; writable by others only if sticky. */
function ancestorProblem(st: { uid: number; mode: number }): string | undefined {
  if (!trustedOwner(st.uid)) return `is owned by uid ${st.uid}, neither root nor you (uid ${uid()})`;
  if (st.mode & 0o022 && !(st.mode & S_ISVTX))
    return `is group- or world-writable and not sticky (mode ${modeText(st.mode)})`;
  return undefined;
}

/** The directory itself: ours, not writable by others. */
function finalProblem(st: { uid: number; mode: number }): string | undefined {
  if (st.uid !== uid()) return `is owned by uid ${st.uid}, not by you (uid ${uid()})`;
  if (st.mode & 0o022) return `is group- or world-writable (mode ${modeText(st.mode)})`;
  return undefined;
}

const components = (p: string) => {
  // (a loop, not filter: an Array builtin's first use costs `tracer run` ~0.05 ms, issue 15)
  const out: string[] = [];
  for (const c of p.split("/")) if (c !== "" && c !== ".") out.push(c);
  return out;
};

type Walked = { fd: number; real: string; mode: number } | { missing: string };

/**
 * Walk `path` from /, checking each directory on the way. Creates missing components (0700) when
 * `create`; otherwise reports the first missing one. Throws UnsafeDir, or the errno error it met.
 */
function walk(path: string, create: boolean): Walked {
  let pending = components(path);
  if (!pending.length) throw new UnsafeDir(path, "is the root directory");
  let fd = openSync("/", DIR_FLAGS);
  let real = "/";
  let hops = 0;
  try {
    const root = fstatSync(fd);
    const bad = ancestorProblem(root);
    if (bad) throw new UnsafeDir("/", bad);
    while (pending.length) {
      const name = pending.shift() as string;
      const last = pending.length === 0;
      const here = join(real, name);
      let next: number;
      try {
        next = openSync(via(fd, real, name), DIR_FLAGS);
      } catch (e) {
        const code = errnoOf(e);
        if (code === "ENOENT") {
          if (!create) return { missing: here };
          try {
            mkdirSync(via(fd, real, name), { mode: 0o700 });
          } catch (m) {
            if (errnoOf(m) !== "EEXIST") throw m;
          }
          if (++hops > MAX_SYMLINKS) throw new UnsafeDir(here, "keeps disappearing");
          pending.unshift(name); // open it (or whatever raced us to that name) and check it
          continue;
        }
        if (code !== "ENOTDIR" && code !== "ELOOP") throw e;
        const st = lstatSync(via(fd, real, name));
        if (!st.isSymbolicLink()) throw new UnsafeDir(here, "is not a directory");
        if (last) throw new UnsafeDir(here, "is a symbolic link");
        if (!trustedOwner(st.uid))
          throw new UnsafeDir(here, `is a symbolic link owned by uid ${st.uid}, neither root nor you`);
        if (++hops > MAX_SYMLINKS) throw new UnsafeDir(here, "has too many levels of symbolic links");
        const target = readlinkSync(via(fd, real, name));
        pending = [...components(target), ...pending];
        if (target.startsWith("/")) {
          closeSync(fd);
          fd = openSync("/", DIR_FLAGS);
          real = "/";
        }
        continue;
      }
      const st = fstatSync(next);
      const bad = last ? finalProblem(st) : ancestorProblem(st);
      if (bad) {
        closeSync(next);
        throw new UnsafeDir(here, bad);
      }
      closeSync(fd);
      fd = next;
      real = here;
    }
    const result = { fd, real, mode: fstatSync(fd).mode };
    fd = -1;
    return result;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * Check `path` and hold it open. Missing directories are created 0700 when `create`, else undefined is
 * returned. The directory is tightened to 0700 (unless `inspect`). Throws TracerError E_DIR_UNSAFE
 * (exit 3) for an untrusted path — the same message from every command — and E_DIR_OPEN (exit 1)
 * when it cannot be opened (e.g. no search permission).
 */
export function trustDir(path: string, opts: { create: boolean }): TrustedDir | undefined {
  const hit = cache.get(path);
  if (hit) {
    if (fstatSync(hit.fd).nlink > 0) return hit;
    cache.delete(path); // removed since we checked it: check the new one
    shownByFd.delete(hit.fd);
    closeSync(hit.fd);
  }
  let w: Walked;
  try {
    w = walk(path, opts.create);
  } catch (e) {
    throw dirError(path, e);
  }
  if ("missing" in w) return undefined;
  const { fd, real } = w;
  if ((w.mode & 0o7777) !== 0o700) chmodSync(LINUX ? `/proc/self/fd/${fd}` : real, 0o700);
  const dir: TrustedDir = { path, fd, at: (name) => via(fd, real, name) };
  cache.set(path, dir);
  shownByFd.set(fd, path);
  return dir;
}

export function dirError(path: string, e: unknown): TracerError {
  if (e instanceof UnsafeDir)
    return refused(
      "E_DIR_UNSAFE",
      `refusing to use ${path}: ${e.component === path ? "it" : e.component} ${e.problem}`,
      "tracer's dirs must be yours (mode 700) under directories only root or you can change; fix the owner/mode or point TRACER_STATE_DIR / TRACER_RUNTIME_DIR elsewhere",
    );
  return new TracerError("E_DIR_OPEN", `cannot open ${path}: ${(e as Error).message}`, Exit.error, {
    cause: e,
  });
}

/** Inspect without creating or changing anything: undefined when trusted (or absent), else the problem. */
export function dirProblem(path: string): { exists: boolean; problem?: string } {
  try {
    const w = walk(path, false);
    if ("missing" in w) return { exists: false };
    closeSync(w.fd);
    return { exists: true };
  } catch (e) {
    if (e instanceof UnsafeDir)
      return {
        exists: true,
        problem: e.component === path ? e.problem : `has an unsafe ancestor: ${e.message}`,
      };
    return { exists: false, problem: `cannot open: ${(e as Error).message}` };
  }
}

/** The path to show a user for a path made by TrustedDir.at (the /proc form means nothing to them). */
export function shownPath(p: string): string {
  const m = /^\/proc\/self\/fd\/(\d+)\/(.*)$/s.exec(p);
  const dir = m ? shownByFd.get(Number(m[1])) : undefined;
  return dir && m ? join(dir, m[2] as string) : p;
}

const PRIVATE_FLAGS = constants.O_RDWR | constants.O_NOFOLLOW | O_CLOEXEC;
/**
 * To look at a file only (a reader's store): read-only, so a store on a read-only mount can be read;
 * non-blocking, so a FIFO planted under the store's name is refused (fstat) instead of blocking the open
 */
const LOOK_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | O_CLOEXEC;

/**
 * Make `name` in `dir` a private file (0600, ours, regular), creating it when `create`; -wal/-shm
 * companions of an SQLite file are tightened too when present. Returns the path to open it by, or
 * undefined when it does not exist and `create` is false. Refuses (exit 3) a symlink or another's file.
 */
export function privateFile(
  dir: TrustedDir,
  name: string,
  opts: { create: boolean; sqlite?: boolean },
): string | undefined {
  const names = opts.sqlite ? [name, `${name}-wal`, `${name}-shm`, `${name}-journal`] : [name];
  for (const [i, n] of names.entries()) {
    let fd: number | undefined;
    try {
      // a missing file is no error here (no Error built: the companions are mostly absent)
      fd = openUnlessMissing(
        dir.at(n),
        opts.create ? PRIVATE_FLAGS | (i === 0 ? constants.O_CREAT : 0) : LOOK_FLAGS,
        0o600,
      );
      if (fd === undefined && i === 0 && opts.create)
        fd = openSync(dir.at(n), PRIVATE_FLAGS | constants.O_CREAT, 0o600); // gone meanwhile: its error
      if (fd === undefined) {
        if (i === 0) return undefined;
        continue;
      }
    } catch (e) {
      const code = errnoOf(e);
      if (code === "ELOOP")
        throw refused("E_FILE_UNSAFE", `refusing to use ${join(dir.path, n)}: it is a symbolic link`);
      // node's message ends with the path it opened (/proc/self/fd/N/…, the held dir's): the shown one is enough
      const why = (e as Error).message.replace(/, open '[^']*'$/, "");
      throw new TracerError("E_FILE_OPEN", `cannot open ${join(dir.path, n)}: ${why}`, Exit.error, {
        cause: e,
        ...(code === "EROFS"
          ? { hint: "a read-only file system: reading works, recording needs a writable TRACER_STATE_DIR" }
          : {}),
      });
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile())
        throw refused("E_FILE_UNSAFE", `refusing to use ${join(dir.path, n)}: it is not a regular file`);
      if (st.uid !== uid())
        throw refused(
          "E_FILE_UNSAFE",
          `refusing to use ${join(dir.path, n)}: it is owned by uid ${st.uid}, not by you`,
        );
      if ((st.mode & 0o7777) !== 0o600)
        try {
          fchmodSync(fd, 0o600);
        } catch (e) {
          // a read-only mount: nobody can change it there, and a reader only reads it
          if (opts.create || errnoOf(e) !== "EROFS") throw e;
        }
    } finally {
      closeSync(fd);
    }
  }
  return dir.at(name);
}
