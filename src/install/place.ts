/**
 * THE one module that writes under /usr/local/bin. A new binary goes to `.tracer.<random>` (O_EXCL,
 * O_NOFOLLOW, 0755, root-owned), is fsynced, re-read and re-hashed, and only then renamed over `tracer`:
 * readers see the old file or the new one, never a mix. The signature goes beside it the same way. The
 * replaced binary stays as `.tracer.previous` for `tracer update --rollback`. Everything happens under
 * an flock on the directory itself, so temp files found under that lock are leftovers of a killed run.
 */
import {
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  fchownSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { tryLockExclusive } from "../../ffi/libc.ts";
import { checkDir, resolveDirs } from "../core/dirs.ts";
import { O_CLOEXEC } from "../core/fsflags.ts";
import { Exit, TracerError, errnoOf, refused } from "../errors.ts";
import { hashFile } from "./_hash.ts";

/** Fixed: never derived from input. */
export const BIN_DIR = "/usr/local/bin";
export const BIN_NAME = "tracer";
export const binPath = () => join(BIN_DIR, BIN_NAME);
export const sigPath = () => `${binPath()}.minisig`;
export const previousPath = () => join(BIN_DIR, `.${BIN_NAME}.previous`);
const TEMP = /^\.tracer\.[A-Za-z0-9]{12}$/;
const CHUNK = 1024 * 1024;

const randomName = () => {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return `.${BIN_NAME}.${Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => abc[b % 62]).join("")}`;
};

/** Hold the directory's flock for the duration of `fn`; clears leftovers of a killed run first. */
export async function withBinDirLock<T>(fn: () => Promise<T> | T): Promise<T> {
  const fd = openSync(BIN_DIR, constants.O_RDONLY | constants.O_DIRECTORY | O_CLOEXEC);
  try {
    const deadline = Date.now() + 120_000;
    while (!tryLockExclusive(fd)) {
      if (Date.now() > deadline)
        throw new TracerError("E_INSTALL_BUSY", `another tracer install/update holds ${BIN_DIR}`);
      await Bun.sleep(50);
    }
    removeLeftovers();
    return await fn();
  } finally {
    closeSync(fd); // drops the lock
  }
}

/** Temp files and work dirs of a run that died (kill -9, power loss). Only safe under the lock. */
export function removeLeftovers(): string[] {
  const gone = readdirSync(BIN_DIR).filter((n) => TEMP.test(n));
  for (const n of gone) rmSync(join(BIN_DIR, n), { force: true });
  const tmp = workRoot();
  const me = process.getuid?.() ?? 0;
  for (const n of readdirSync(tmp).filter((n) => WORK.test(n))) {
    const st = lstatSync(join(tmp, n));
    if (st.isDirectory() && st.uid === me) {
      rmSync(join(tmp, n), { recursive: true, force: true });
      gone.push(join(tmp, n));
    }
  }
  return gone;
}

// ---- the private work dir (download, extraction): created and removed only here ----

const WORK = /^tracer-install-[A-Za-z0-9]{6}$/;
const workRoot = () => realpathSync(tmpdir());

/** A fresh 0700 dir for one run (mkdtemp). */
export function makeWorkDir(): string {
  return mkdtempSync(join(workRoot(), "tracer-install-"));
}

/** Remove a dir made by makeWorkDir (and nothing else). */
export function removeWorkDir(dir: string): void {
  if (dirname(dir) !== workRoot() || !WORK.test(basename(dir)))
    throw new TracerError("E_WORK_DIR", `refusing to remove ${dir}: not a tracer work dir`);
  rmSync(dir, { recursive: true, force: true });
}

const inWork = (dir: string, name: string) => {
  if (dirname(dir) !== workRoot() || !WORK.test(basename(dir)) || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    throw new TracerError("E_WORK_DIR", `refusing to write ${name} in ${dir}`);
  return join(dir, name);
};

/** A new file in the work dir, opened for writing (O_EXCL, 0600); the caller writes and closes it. */
export function createWorkFile(dir: string, name: string): number {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | O_CLOEXEC;
  return openSync(inWork(dir, name), flags, 0o600);
}

/** A new empty 0700 subdir of the work dir (the extraction target). */
export function makeWorkSubdir(dir: string, name: string): string {
  const sub = inWork(dir, name);
  mkdirSync(sub, { mode: 0o700 });
  return sub;
}

/** Copy a user-given file (--archive) into the work dir, so it cannot change after it is verified. */
export function copyIntoWork(src: string, dir: string, name: string): string {
  const dest = inWork(dir, name);
  copyFileSync(src, dest, constants.COPYFILE_EXCL);
  return dest;
}

/** What is installed now: undefined, or a regular file (a symlink or anything else is refused). */
export function installedFile(path = binPath()): { size: number; uid: number; mode: number } | undefined {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch (e) {
    if (errnoOf(e) === "ENOENT") return undefined;
    throw e;
  }
  if (!st.isFile())
    throw refused("E_INSTALL_TARGET", `${path} is not a regular file (a symlink or other); not touching it`);
  return { size: st.size, uid: st.uid, mode: st.mode & 0o7777 };
}

const spaceError = (e: unknown) =>
  new TracerError("E_NO_SPACE", `not enough space in ${BIN_DIR} to write the new binary`, Exit.error, {
    cause: e,
    hint: "free some space there, then run the command again; the installed binary was not changed",
  });

/** Write `source` (or bytes) to a fresh temp file in BIN_DIR, fsynced; returns its name. */
function writeTemp(source: { path: string } | { bytes: Uint8Array }, mode: number): string {
  const name = randomName();
  const tmp = join(BIN_DIR, name);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | O_CLOEXEC;
  const out = openSync(tmp, flags, 0o600);
  try {
    if (process.getuid?.() === 0) fchownSync(out, 0, 0);
    if ("bytes" in source) writeAll(out, source.bytes);
    else copyInto(source.path, out);
    fchmodSync(out, mode);
    fsyncSync(out);
  } catch (e) {
    closeSync(out);
    rmSync(tmp, { force: true });
    throw errnoOf(e) === "ENOSPC" || errnoOf(e) === "EDQUOT" ? spaceError(e) : e;
  }
  closeSync(out);
  return name;
}

function writeAll(fd: number, bytes: Uint8Array) {
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
}

function copyInto(path: string, out: number) {
  const src = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | O_CLOEXEC);
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(src, buf, 0, CHUNK, null);
      if (n === 0) break;
      writeAll(out, buf.subarray(0, n));
    }
  } finally {
    closeSync(src);
  }
}

function fsyncDir() {
  const fd = openSync(BIN_DIR, constants.O_RDONLY | constants.O_DIRECTORY | O_CLOEXEC);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Hard-link `from` to `to` atomically (link to a temp name, rename over); removes `to` when absent.
 * When `to` is already a link to the same file (a run killed right after keeping it), rename(2) does
 * nothing and leaves the temp name: it is removed here, not left for the next run.
 */
function keepCopy(from: string, to: string) {
  if (!installedFile(from)) return void rmSync(to, { force: true });
  const tmp = join(BIN_DIR, randomName());
  linkSync(from, tmp);
  try {
    renameSync(tmp, to);
  } finally {
    rmSync(tmp, { force: true });
  }
}

export interface PlaceRequest {
  /** the verified binary, extracted in the private temp dir */
  source: string;
  /** its SHA-256 (hex), computed when its signature was verified */
  sha256: string;
  /** its minisign signature (the file's bytes, or its text); installed beside it */
  signature: Uint8Array | string;
  /** keep the replaced binary as .tracer.previous (install/update: yes; rollback swaps instead) */
  keepPrevious?: boolean;
}

export interface Placed {
  path: string;
  sha256: string;
  previous?: string;
}

/** Place a verified binary. Call inside withBinDirLock. On failure the installed files are unchanged. */
export async function placeBinary(req: PlaceRequest): Promise<Placed> {
  const target = binPath();
  const had = installedFile(target);
  const temps: string[] = [];
  try {
    const bin = writeTemp({ path: req.source }, 0o755);
    temps.push(bin);
    const again = await hashFile(join(BIN_DIR, bin), "sha256");
    if (again !== req.sha256)
      throw refused(
        "E_PLACE_HASH",
        `the binary written to ${BIN_DIR} hashes to ${again.slice(0, 16)}…, expected ${req.sha256.slice(0, 16)}…`,
      );
    const sigBytes =
      typeof req.signature === "string" ? new TextEncoder().encode(req.signature) : req.signature;
    const sig = writeTemp({ bytes: sigBytes }, 0o644);
    temps.push(sig);
    if (had && req.keepPrevious !== false) {
      keepCopy(target, previousPath());
      keepCopy(sigPath(), `${previousPath()}.minisig`);
    }
    // the commit point: after this rename the new binary is installed
    renameSync(join(BIN_DIR, bin), target);
    temps.shift();
    renameSync(join(BIN_DIR, sig), sigPath());
    temps.shift();
    fsyncDir();
  } catch (e) {
    for (const t of temps) rmSync(join(BIN_DIR, t), { force: true });
    if (e instanceof TracerError) throw e;
    if (errnoOf(e) === "ENOSPC" || errnoOf(e) === "EDQUOT") throw spaceError(e);
    throw new TracerError(
      "E_PLACE",
      `could not place the binary in ${BIN_DIR}: ${(e as Error).message}`,
      Exit.error,
      {
        cause: e,
      },
    );
  }
  return { path: target, sha256: req.sha256, previous: had ? previousPath() : undefined };
}

/** Swap `.tracer.previous` back in; the current binary becomes the previous one. Inside the lock. */
export function swapPrevious(): void {
  const prev = previousPath();
  if (!installedFile(prev))
    throw new TracerError("E_NO_PREVIOUS", `there is no previous binary to roll back to (${prev})`);
  const cur = join(BIN_DIR, randomName());
  const curSig = join(BIN_DIR, randomName());
  const hadCur = installedFile(binPath()) !== undefined;
  const hadSig = installedFile(sigPath()) !== undefined;
  if (hadCur) linkSync(binPath(), cur);
  if (hadSig) linkSync(sigPath(), curSig);
  try {
    renameSync(prev, binPath());
    if (installedFile(`${prev}.minisig`)) renameSync(`${prev}.minisig`, sigPath());
    else rmSync(sigPath(), { force: true });
    if (hadCur) renameSync(cur, prev);
    if (hadSig) renameSync(curSig, `${prev}.minisig`);
  } finally {
    rmSync(cur, { force: true });
    rmSync(curSig, { force: true });
  }
  fsyncDir();
}

/** `uninstall --purge`: tracer's state and runtime dirs, only if they are ours and private. */
export function purgeDirs(): string[] {
  const d = resolveDirs();
  const gone: string[] = [];
  for (const dir of [d.state, d.runtime]) {
    const c = checkDir(dir);
    if (!c.exists) continue;
    if (c.problem) throw refused("E_PURGE", `not removing ${dir}: it ${c.problem}`);
    rmSync(dir, { recursive: true, force: true });
    gone.push(dir);
  }
  return gone;
}

/** Remove the binary, its signature and the kept previous copy. Returns what was removed. */
export function removeInstalled(): string[] {
  const all = [binPath(), sigPath(), previousPath(), `${previousPath()}.minisig`];
  const removed = all.filter((p) => installedFile(p) !== undefined);
  for (const p of removed) rmSync(p, { force: true });
  if (removed.length) fsyncDir();
  return removed;
}
