/** The few libc calls Bun does not expose. The only other place besides native.ts that uses bun:ffi. */
import { dlopen, FFIType } from "bun:ffi";

const candidates = (): string[] => {
  if (process.platform === "darwin") return ["libSystem.B.dylib"];
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  return ["libc.so.6", `libc.musl-${arch}.so.1`, `/lib/ld-musl-${arch}.so.1`, "libc.so"];
};

const defs = {
  flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
} as const;

type Libc = ReturnType<typeof dlopen<typeof defs>>["symbols"];
let libc: Libc | undefined;

export function loadLibc(): Libc {
  if (libc) return libc;
  let last: unknown;
  for (const name of candidates()) {
    try {
      libc = dlopen(name, process.platform === "darwin" ? { flock: defs.flock } : defs).symbols as Libc;
      return libc;
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`cannot load the C library: ${(last as Error)?.message}`, { cause: last });
}

export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** flock(fd, LOCK_EX|LOCK_NB): true when taken, false when another process holds it. */
export function tryLockExclusive(fd: number): boolean {
  return loadLibc().flock(fd, LOCK_EX | LOCK_NB) === 0;
}
