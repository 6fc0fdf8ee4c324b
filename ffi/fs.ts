/**
 * The node:fs calls on `tracer run`'s path, made with libc directly on Linux. Importing node:fs costs
 * ~1.6 ms of a ~20 ms `tracer run -- true` (it pulls in node:events, node:buffer, node:fs/promises;
 * measured in the compiled binary, issue 15), more than all these calls together. Same names, arguments
 * and results as node:fs for what tracer uses of them; a failure throws an Error with node's `code`
 * ("ENOENT"), `errno` (negative), `syscall` and `path`, and its message ("ENOENT: no such file or
 * directory, open '/x'"). Off Linux, when libc or its statx (glibc ≥ 2.28, musl ≥ 1.2.5) cannot be
 * bound, and for the calls only rare paths make (readdirSync, realpathSync, …), node:fs itself, loaded
 * on first use. Paths are strings (UTF-8, as node:fs writes them) or bytes. TRACER_NODE_FS=1 uses
 * node:fs for every call (to rule this module out when something differs).
 */
import { dlopen, FFIType, read } from "bun:ffi";
import { errnoText } from "./_errno.ts";
import { libcNames } from "./libc.ts";

type NodeFs = typeof import("node:fs");
let nodeFs: NodeFs | undefined;
/** node:fs, required on first use only */
export const node = (): NodeFs => {
  nodeFs ??= require("node:fs") as NodeFs;
  return nodeFs;
};

const LINUX = process.platform === "linux";

/** Linux's values (x86_64 and arm64 alike); node's elsewhere */
export const constants: {
  O_RDONLY: number;
  O_WRONLY: number;
  O_RDWR: number;
  O_CREAT: number;
  O_EXCL: number;
  O_NOCTTY: number;
  O_TRUNC: number;
  O_APPEND: number;
  O_NONBLOCK: number;
  O_DIRECTORY: number;
  O_NOFOLLOW: number;
  F_OK: number;
  R_OK: number;
  W_OK: number;
  X_OK: number;
} = LINUX
  ? {
      O_RDONLY: 0,
      O_WRONLY: 1,
      O_RDWR: 2,
      O_CREAT: 0o100,
      O_EXCL: 0o200,
      O_NOCTTY: 0o400,
      O_TRUNC: 0o1000,
      O_APPEND: 0o2000,
      O_NONBLOCK: 0o4000,
      O_DIRECTORY: 0o200000,
      O_NOFOLLOW: 0o400000,
      F_OK: 0,
      R_OK: 4,
      W_OK: 2,
      X_OK: 1,
    }
  : node().constants;

const O_CLOEXEC = 0o2000000;
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;
const STATX_BTIME = 0x800;

const I32 = FFIType.i32;
const P = FFIType.ptr;
const U64 = FFIType.u64;
const I64 = FFIType.i64;
const symbols = {
  open: { args: [P, I32, I32], returns: I32 },
  close: { args: [I32], returns: I32 },
  read: { args: [I32, P, U64], returns: I64 },
  pread: { args: [I32, P, U64, I64], returns: I64 },
  write: { args: [I32, P, U64], returns: I64 },
  statx: { args: [I32, P, I32, FFIType.u32, P], returns: I32 },
  access: { args: [P, I32], returns: I32 },
  readlink: { args: [P, P, U64], returns: I64 },
  mkdir: { args: [P, FFIType.u32], returns: I32 },
  chmod: { args: [P, FFIType.u32], returns: I32 },
  fchmod: { args: [I32, FFIType.u32], returns: I32 },
  statfs: { args: [P, P], returns: I32 },
  __errno_location: { args: [], returns: P },
} as const;
type Libc = ReturnType<typeof dlopen<typeof symbols>>["symbols"];

let libc: Libc | null | undefined;
let errnoAt = 0;
/** libc's functions, or null: node:fs then (not Linux, no libc, no statx) */
function c(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (LINUX && process.env.TRACER_NODE_FS !== "1")
    for (const name of libcNames()) {
      try {
        libc = dlopen(name, symbols).symbols as Libc;
        errnoAt = Number(libc.__errno_location());
        break;
      } catch {}
    }
  return libc;
}

export { errnoText } from "./_errno.ts";

export interface FsError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

/** The error of the failed call just made (errno read at once: nothing runs in between on this thread) */
function fail(syscall: string, path?: PathLike, n: number = read.i32(errnoAt as never, 0)): FsError {
  const [code, text] = errnoText(n);
  const shown =
    path === undefined ? "" : ` '${typeof path === "string" ? path : Buffer.from(path).toString()}'`;
  const e = new Error(`${code}: ${text}, ${syscall}${shown}`) as FsError;
  e.code = code;
  e.errno = -n;
  e.syscall = syscall;
  if (path !== undefined) e.path = typeof path === "string" ? path : Buffer.from(path).toString();
  return e;
}

export type PathLike = string | Buffer;
/**
 * The path as a C string. A NUL inside would end it early and name another file (`/tmp/x\0y` is
 * `/tmp/x`): refused with node's TypeError (code ERR_INVALID_ARG_VALUE), as node:fs refuses it.
 */
const hasNul = (p: PathLike): boolean => (typeof p === "string" ? p.includes("\0") : p.includes(0));
const cPath = (p: PathLike): Uint8Array => {
  if (hasNul(p)) {
    const e = new TypeError(
      `The argument 'path' must be a string, Uint8Array, or URL without null bytes. Received ${JSON.stringify(String(p))}`,
    ) as TypeError & { code: string };
    e.code = "ERR_INVALID_ARG_VALUE";
    throw e;
  }
  if (typeof p === "string") return Buffer.from(`${p}\0`);
  const b = new Uint8Array(p.length + 1);
  b.set(p);
  return b;
};

export function openSync(path: PathLike, flags = 0, mode = 0o666): number {
  const l = c();
  if (!l) return node().openSync(path, flags, mode);
  const fd = l.open(cPath(path), flags | O_CLOEXEC, mode);
  if (fd < 0) throw fail("open", path);
  return fd;
}

/**
 * openSync, but undefined when the file does not exist (ENOENT), with no Error built for it: the
 * store's check of its -wal/-shm/-journal companions, mostly absent (the first Error of a process,
 * built and thrown, costs ~0.08 ms of `tracer run`, issue 15). Other failures throw as openSync does.
 */
export function openUnlessMissing(path: PathLike, flags = 0, mode = 0o666): number | undefined {
  const l = c();
  if (!l) {
    try {
      return node().openSync(path, flags, mode);
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return undefined;
      throw e;
    }
  }
  const fd = l.open(cPath(path), flags | O_CLOEXEC, mode);
  if (fd >= 0) return fd;
  const n = read.i32(errnoAt as never, 0);
  if (n === 2 /* ENOENT */) return undefined;
  throw fail("open", path, n);
}

export function closeSync(fd: number): void {
  const l = c();
  if (!l) {
    node().closeSync(fd);
    return;
  }
  if (l.close(fd) < 0) throw fail("close");
}

/** node's RangeError (code ERR_OUT_OF_RANGE) for an argument out of its range */
const outOfRange = (name: string, range: string, got: number): RangeError & { code: string } => {
  const e = new RangeError(
    `The value of "${name}" is out of range. It must be ${range}. Received ${got}`,
  ) as RangeError & { code: string };
  e.code = "ERR_OUT_OF_RANGE";
  return e;
};

/** read(2) into `buf` at `offset`; `position` null: the fd's own offset. Returns the bytes read. */
export function readSync(
  fd: number,
  buf: Uint8Array,
  offset = 0,
  length = buf.length - offset,
  position: number | null = null,
): number {
  const l = c();
  if (!l) return node().readSync(fd, buf, offset, length, position);
  // as node:fs checks them: read(2) is given `length`, so a range past the buffer's end would have the
  // kernel write past it, into whatever the heap holds there
  if (!Number.isInteger(offset) || offset < 0)
    throw outOfRange("offset", ">= 0 && <= 9007199254740991", offset);
  if (!Number.isInteger(length) || length < 0) throw outOfRange("length", ">= 0", length);
  if (length === 0) return 0;
  if (offset + length > buf.length) throw outOfRange("length", `<= ${buf.length - offset}`, length);
  const at = buf.subarray(offset, offset + length);
  const n = Number(
    position === null || position < 0 ? l.read(fd, at, length) : l.pread(fd, at, length, position),
  );
  if (n < 0) throw fail("read");
  return n;
}

/** write(2) of a string (UTF-8) or of bytes from `offset` (`length` of them); returns the bytes written. */
export function writeSync(fd: number, data: string | Uint8Array, offset?: number, length?: number): number {
  const l = c();
  if (!l)
    return typeof data === "string" ? node().writeSync(fd, data) : node().writeSync(fd, data, offset, length);
  let bytes: Uint8Array;
  if (typeof data === "string") bytes = Buffer.from(data);
  else {
    // as node:fs checks them: subarray would take a negative offset from the end, or clamp a range
    // past the end, and write other bytes than asked without a word
    const from = offset ?? 0;
    if (!Number.isInteger(from) || from < 0 || from > data.length)
      throw outOfRange("offset", `>= 0 && <= ${data.length}`, from);
    const count = length ?? data.length - from;
    if (!Number.isInteger(count) || count < 0 || from + count > data.length)
      throw outOfRange("length", `>= 0 && <= ${data.length - from}`, count);
    bytes = data.subarray(from, from + count);
  }
  if (!bytes.length) return 0;
  const n = Number(l.write(fd, bytes, bytes.length));
  if (n < 0) throw fail("write");
  return n;
}

let scratch: Uint8Array | undefined;

/** The whole file: a string when an encoding is given ("latin1", "utf8"), else a Buffer. */
export function readFileSync(path: PathLike): Buffer;
export function readFileSync(
  path: PathLike,
  encoding: "latin1" | "utf8" | "utf-8" | { encoding: "latin1" | "utf8" },
): string;
export function readFileSync(
  path: PathLike,
  encoding?: "latin1" | "utf8" | "utf-8" | { encoding: "latin1" | "utf8" },
): string | Buffer {
  const enc = typeof encoding === "object" ? encoding.encoding : encoding;
  const l = c();
  if (!l) return enc ? node().readFileSync(path, enc) : node().readFileSync(path);
  const fd = l.open(cPath(path), constants.O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw fail("open", path);
  try {
    const out = readToEnd(l, fd);
    if (!out) throw fail("read", path);
    return enc ? out.toString(enc === "latin1" ? "latin1" : "utf8") : Buffer.from(out);
  } finally {
    l.close(fd);
  }
}

/**
 * Every byte up to EOF (/proc and /sys files say size 0), in a view of a reused 64 KiB buffer (a
 * bigger one for a bigger file): valid until the next call. Undefined on a read error (errno is set).
 */
function readToEnd(l: Libc, fd: number): Buffer | undefined {
  scratch ??= new Uint8Array(65536);
  let buf = scratch;
  let used = 0;
  for (;;) {
    if (used === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = Number(l.read(fd, buf.subarray(used), buf.length - used));
    if (n < 0) {
      if (read.i32(errnoAt as never, 0) === 4) continue; // EINTR
      return undefined;
    }
    if (n === 0) break;
    used += n;
  }
  return Buffer.from(buf.buffer, buf.byteOffset, used);
}

/**
 * The whole file as a string (`enc`), or undefined when it cannot be opened or read, for whatever
 * reason: for /proc files of processes that may be gone. No Error is built for a failure (its message
 * and stack trace were a tenth of the recorder's CPU per process when most reads are of processes
 * already reaped).
 */
export function readFileOrUndefined(path: string, enc: "latin1" | "utf8"): string | undefined {
  const l = c();
  if (!l) {
    try {
      return node().readFileSync(path, enc);
    } catch {
      return undefined;
    }
  }
  if (path.includes("\0")) return undefined;
  const fd = l.open(cPath(path), constants.O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  try {
    return readToEnd(l, fd)?.toString(enc);
  } finally {
    l.close(fd);
  }
}

/** What stat tells about a file, as node's fs.Stats (numbers; dev and rdev encoded as glibc's makedev) */
export class Stats {
  constructor(
    readonly dev: number,
    readonly ino: number,
    readonly mode: number,
    readonly nlink: number,
    readonly uid: number,
    readonly gid: number,
    readonly rdev: number,
    readonly size: number,
    readonly blksize: number,
    readonly blocks: number,
    readonly atimeMs: number,
    readonly mtimeMs: number,
    readonly ctimeMs: number,
    readonly birthtimeMs: number,
  ) {}
  private type = () => this.mode & 0o170000;
  isFile = () => this.type() === 0o100000;
  isDirectory = () => this.type() === 0o040000;
  isSymbolicLink = () => this.type() === 0o120000;
  isCharacterDevice = () => this.type() === 0o020000;
  isBlockDevice = () => this.type() === 0o060000;
  isFIFO = () => this.type() === 0o010000;
  isSocket = () => this.type() === 0o140000;
  get mtime(): Date {
    return new Date(this.mtimeMs);
  }
}

const makedev = (major: number, minor: number) =>
  (major & 0xfffff000) * 2 ** 32 + (((major & 0xfff) << 8) | (minor & 0xff)) + (minor & 0xffffff00) * 2 ** 12;

const sx = new DataView(new ArrayBuffer(256));
const sxBytes = new Uint8Array(sx.buffer);
const EMPTY = new Uint8Array(1);

const ROOT = new Uint8Array([0x2f, 0]);
const EPERM = 1;
const ENOSYS = 38;
/**
 * statx refused to this process (a seccomp filter that does not know it — Docker before 18.04,
 * libseccomp before 2.3.3 — answers EPERM; some sandboxes ENOSYS): stat, lstat and fstat go to node:fs,
 * which falls back to fstatat then, as libuv does. Without this every stat failed and so did `tracer
 * run` ("cannot open STATE_DIR: EPERM: operation not permitted, fstat").
 */
let statxRefused = false;

/** The stat of the file, or the errno of a failure; "refused" when statx itself is refused here. */
function statx(dirfd: number, path: PathLike | undefined, flags: number): Stats | number | "refused" {
  const l = c() as Libc;
  if (
    l.statx(
      dirfd,
      path === undefined ? EMPTY : cPath(path),
      flags,
      STATX_BASIC_STATS | STATX_BTIME,
      sxBytes,
    ) < 0
  ) {
    const n = read.i32(errnoAt as never, 0);
    if (n !== EPERM && n !== ENOSYS) return n;
    // EPERM may be this file's own (an LSM, fanotify): it is statx's when "/" is refused too
    if (l.statx(AT_FDCWD, ROOT, 0, STATX_BASIC_STATS, sxBytes) === 0) return n;
    statxRefused = true;
    return "refused";
  }
  const u64 = (o: number) => sx.getUint32(o, true) + sx.getUint32(o + 4, true) * 2 ** 32;
  // as node:fs computes it, to the last bit (src/spawn/self.ts compares a file's identity across both)
  // tv_sec is signed (a time before 1970 is negative), tv_nsec always 0..999,999,999
  const ms = (o: number) =>
    (sx.getUint32(o, true) + sx.getInt32(o + 4, true) * 2 ** 32) * 1000 + sx.getUint32(o + 8, true) / 1e6;
  return new Stats(
    makedev(sx.getUint32(136, true), sx.getUint32(140, true)),
    u64(32),
    sx.getUint16(28, true),
    sx.getUint32(16, true),
    sx.getUint32(20, true),
    sx.getUint32(24, true),
    makedev(sx.getUint32(128, true), sx.getUint32(132, true)),
    u64(40),
    sx.getUint32(4, true),
    u64(48),
    ms(64),
    ms(112),
    ms(96),
    // the birth time when the file system keeps one (STATX_BTIME in stx_mask), else 0, as Bun's node:fs
    sx.getUint32(0, true) & STATX_BTIME ? ms(80) : 0,
  );
}

export function fstatSync(fd: number): Stats {
  const st = c() && !statxRefused ? statx(fd, undefined, AT_EMPTY_PATH) : "refused";
  if (st === "refused") return node().fstatSync(fd) as unknown as Stats;
  if (typeof st === "number") throw fail("fstat", undefined, st);
  return st;
}

export function statSync(path: PathLike): Stats;
export function statSync(path: PathLike, opts: { throwIfNoEntry: false }): Stats | undefined;
export function statSync(path: PathLike, opts?: { throwIfNoEntry?: boolean }): Stats | undefined {
  const st = c() && !statxRefused ? statx(AT_FDCWD, path, 0) : "refused";
  if (st === "refused") {
    // node:fs (Bun's) throws ENOTDIR even with throwIfNoEntry false; the libc path answers undefined
    // for it, as Node does: the same answer whichever path is taken
    try {
      return node().statSync(path, opts as { throwIfNoEntry: false }) as unknown as Stats | undefined;
    } catch (e) {
      if (opts?.throwIfNoEntry === false && (e as FsError).code === "ENOTDIR") return undefined;
      throw e;
    }
  }
  if (typeof st !== "number") return st;
  const e = fail("stat", path, st);
  if (opts?.throwIfNoEntry === false && (e.code === "ENOENT" || e.code === "ENOTDIR")) return undefined;
  throw e;
}

/** The stat of the file, or undefined when it fails for whatever reason (no Error built: /proc paths). */
export function statOrUndefined(path: string): Stats | undefined {
  // a NUL would name another file (cPath throws for it): no such file, as readFileOrUndefined says
  if (path.includes("\0")) return undefined;
  const st = c() && !statxRefused ? statx(AT_FDCWD, path, 0) : "refused";
  if (st === "refused") {
    try {
      return node().statSync(path) as unknown as Stats;
    } catch {
      return undefined;
    }
  }
  return typeof st === "number" ? undefined : st;
}

const STATX_NLINK = 0x4;

/**
 * The link count of a path (st_nlink), or undefined when stat fails for whatever reason. No Stats and
 * no Error built: asked at the exit of every process (/proc/PID/task: 2 + its threads), mostly gone.
 */
export function linkCount(path: string): number | undefined {
  const l = c();
  if (!l || statxRefused || path.includes("\0")) return statOrUndefined(path)?.nlink;
  if (l.statx(AT_FDCWD, cPath(path), 0, STATX_NLINK, sxBytes) === 0) return sx.getUint32(16, true);
  const n = read.i32(errnoAt as never, 0);
  // statx itself refused here (see statxRefused): the full path finds out and falls back
  return n === EPERM || n === ENOSYS ? statOrUndefined(path)?.nlink : undefined;
}

export function lstatSync(path: PathLike): Stats {
  const st = c() && !statxRefused ? statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW) : "refused";
  if (st === "refused") return node().lstatSync(path) as unknown as Stats;
  if (typeof st === "number") throw fail("lstat", path, st);
  return st;
}

export function accessSync(path: PathLike, mode = constants.F_OK): void {
  const l = c();
  if (!l) {
    node().accessSync(path, mode);
    return;
  }
  if (l.access(cPath(path), mode) < 0) throw fail("access", path);
}

export function existsSync(path: PathLike): boolean {
  const l = c();
  if (!l) return node().existsSync(path);
  // node:fs answers false for a path it refuses (a NUL inside)
  if (hasNul(path)) return false;
  return l.access(cPath(path), constants.F_OK) === 0;
}

const linkBuf = new Uint8Array(4096);

/** The target of a symbolic link: a string (UTF-8), or its bytes with `{ encoding: "buffer" }`. */
export function readlinkSync(path: PathLike): string;
export function readlinkSync(path: PathLike, opts: { encoding: "buffer" }): Buffer;
export function readlinkSync(path: PathLike, opts?: { encoding: "buffer" }): string | Buffer {
  const l = c();
  if (!l) return opts ? node().readlinkSync(path, opts) : node().readlinkSync(path);
  const n = Number(l.readlink(cPath(path), linkBuf, linkBuf.length));
  if (n < 0) throw fail("readlink", path);
  // a target that fills the buffer may have been cut: node:fs reads it whole
  if (n === linkBuf.length) return opts ? node().readlinkSync(path, opts) : node().readlinkSync(path);
  const out = Buffer.from(linkBuf.subarray(0, n));
  return opts?.encoding === "buffer" ? out : out.toString("utf8");
}

/** The target's bytes, or undefined when the link cannot be read, for whatever reason (no Error built). */
export function readlinkOrUndefined(path: string): Buffer | undefined {
  try {
    const l = c();
    if (!l || path.includes("\0")) return readlinkSync(path, { encoding: "buffer" });
    const n = Number(l.readlink(cPath(path), linkBuf, linkBuf.length));
    if (n < 0) return undefined;
    if (n === linkBuf.length) return readlinkSync(path, { encoding: "buffer" });
    return Buffer.from(linkBuf.subarray(0, n));
  } catch {
    return undefined;
  }
}

/** mkdir(2), one level (no `recursive`) */
export function mkdirSync(path: PathLike, opts: { mode?: number } = {}): void {
  const l = c();
  if (!l) {
    node().mkdirSync(path, opts);
    return;
  }
  if (l.mkdir(cPath(path), opts.mode ?? 0o777) < 0) throw fail("mkdir", path);
}

export function chmodSync(path: PathLike, mode: number): void {
  const l = c();
  if (!l) {
    node().chmodSync(path, mode);
    return;
  }
  if (l.chmod(cPath(path), mode) < 0) throw fail("chmod", path);
}

export function fchmodSync(fd: number, mode: number): void {
  const l = c();
  if (!l) {
    node().fchmodSync(fd, mode);
    return;
  }
  if (l.fchmod(fd, mode) < 0) throw fail("fchmod");
}

export interface StatFs {
  type: number;
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

const sfs = new DataView(new ArrayBuffer(120));

/** statfs(2) (struct statfs of 64-bit Linux: every field a 64-bit word) */
export function statfsSync(path: PathLike): StatFs {
  const l = c();
  if (!l) return node().statfsSync(path) as StatFs;
  if (l.statfs(cPath(path), new Uint8Array(sfs.buffer)) < 0) throw fail("statfs", path);
  const w = (i: number) => sfs.getUint32(i * 8, true) + sfs.getUint32(i * 8 + 4, true) * 2 ** 32;
  // f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_fsid, f_namelen, f_frsize
  return {
    type: w(0),
    bsize: w(1),
    frsize: w(9),
    blocks: w(2),
    bfree: w(3),
    bavail: w(4),
    files: w(5),
    ffree: w(6),
  };
}

// rarer calls: node:fs itself, loaded then
export const readdirSync: NodeFs["readdirSync"] = ((...a: Parameters<NodeFs["readdirSync"]>) =>
  node().readdirSync(...a)) as NodeFs["readdirSync"];
export const realpathSync = (p: string): string => node().realpathSync(p);
export const mkdtempSync = (prefix: string): string => node().mkdtempSync(prefix);
export const rmSync = (p: string, o?: { recursive?: boolean; force?: boolean }): void => node().rmSync(p, o);
export const writeFileSync: NodeFs["writeFileSync"] = (...a) => node().writeFileSync(...a);
