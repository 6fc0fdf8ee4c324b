/**
 * What this process knows about its own executable, captured once at start-up (src/main.ts) before any
 * command runs, so a later spawn can prove it starts the same file.
 */
import { O_CLOEXEC } from "../core/fsflags.ts";
import { closeSync, constants, fstatSync, openSync, realpathSync, statSync } from "../../ffi/fs.ts";

export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

export interface SelfImage {
  /** realpath of process.execPath at start-up */
  path: string;
  identity: FileIdentity | undefined;
  /** Linux: an O_RDONLY|O_CLOEXEC descriptor of /proc/self/exe, opened at start-up */
  exeFd: number | undefined;
  exeFdError: string | undefined;
  /** how we were invoked (process.argv0) */
  argv0: string;
  /** running from source: the script Bun must be given again */
  script: string | undefined;
}

const idOf = (s: { dev: number; ino: number; size: number; mtimeMs: number }): FileIdentity => ({
  dev: s.dev,
  ino: s.ino,
  size: s.size,
  mtimeMs: s.mtimeMs,
});

export const sameIdentity = (a: FileIdentity, b: FileIdentity) =>
  a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

let self: SelfImage | undefined;

/** True inside a `bun build --compile` binary. */
// (import.meta.path is baked in at build time by --bytecode; Bun.main is the embedded entry at run time)
export const isCompiled = () => Bun.main.startsWith("/$bunfs/") || /^[A-Z]:\\~BUN\\/.test(Bun.main);

export function captureSelf(): SelfImage {
  if (self) return self;
  let path = process.execPath;
  let identity: FileIdentity | undefined;
  try {
    path = realpathSync(process.execPath);
    identity = idOf(statSync(path));
  } catch {}
  let exeFd: number | undefined;
  let exeFdError: string | undefined;
  if (process.platform === "linux") {
    try {
      exeFd = openSync("/proc/self/exe", constants.O_RDONLY | O_CLOEXEC);
    } catch (e) {
      exeFdError = (e as Error).message;
    }
  } else exeFdError = "not Linux";
  self = {
    path,
    identity,
    exeFd,
    exeFdError,
    argv0: process.argv0,
    script: isCompiled() ? undefined : Bun.main,
  };
  return self;
}

/** The fd's own identity (for checks on the very file that will be exec'd). */
export function fdIdentity(fd: number) {
  const st = fstatSync(fd);
  return { ...idOf(st), mode: st.mode, uid: st.uid, isFile: st.isFile() };
}

export function releaseSelf() {
  if (self?.exeFd !== undefined) closeSync(self.exeFd);
  self = undefined;
}
