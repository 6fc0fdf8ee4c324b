import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { Exit, TracerError, errnoOf, refused } from "../errors.ts";

/** Where tracer keeps state (database, log) and runtime files (socket, pid, locks). */
export interface Dirs {
  state: string;
  runtime: string;
}

export interface DirPaths extends Dirs {
  socket: string;
  pidFile: string;
  daemonLock: string;
  initLock: string;
  log: string;
}

const uid = () => process.getuid?.() ?? -1;

/**
 * Root: /var/lib/tracer and /run/tracer. Others: XDG state/runtime dirs, or a 0700 dir under the state
 * dir when there is no XDG_RUNTIME_DIR. Never a shared /tmp path. TRACER_STATE_DIR / TRACER_RUNTIME_DIR
 * override both (tests, containers); they pass the same checks.
 */
export function resolveDirs(env: Record<string, string | undefined> = process.env): Dirs {
  const root = uid() === 0;
  const home = env.HOME || homedir();
  const state =
    env.TRACER_STATE_DIR ||
    (root ? "/var/lib/tracer" : join(env.XDG_STATE_HOME || join(home, ".local", "state"), "tracer"));
  const runtime =
    env.TRACER_RUNTIME_DIR ||
    (root ? "/run/tracer" : env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "tracer") : join(state, "run"));
  for (const [name, p] of Object.entries({ state, runtime }))
    if (!p.startsWith("/"))
      throw new TracerError("E_DIR_RELATIVE", `${name} dir must be an absolute path, got "${p}"`, Exit.usage);
  return { state, runtime };
}

export function paths(d: Dirs = resolveDirs()): DirPaths {
  return {
    ...d,
    socket: join(d.runtime, "tracer.sock"),
    pidFile: join(d.runtime, "daemon.pid"),
    daemonLock: join(d.runtime, "daemon.lock"),
    initLock: join(d.runtime, "init.lock"),
    log: join(d.state, "daemon.log"),
  };
}

export interface DirCheck {
  path: string;
  exists: boolean;
  mode?: string;
  owner?: number;
  problem?: string;
}

/** Inspect a dir without changing it: used by `doctor` and by ensureSecureDir. */
export function checkDir(path: string): DirCheck {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch (e) {
    if (errnoOf(e) === "ENOENT") return { path, exists: false };
    return { path, exists: false, problem: `cannot stat: ${(e as Error).message}` };
  }
  const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
  const base = { path, exists: true, mode, owner: st.uid };
  if (st.isSymbolicLink()) return { ...base, problem: "is a symbolic link" };
  if (!st.isDirectory()) return { ...base, problem: "is not a directory" };
  if (st.uid !== uid()) return { ...base, problem: `is owned by uid ${st.uid}, not by you (uid ${uid()})` };
  if (st.mode & 0o022) return { ...base, problem: `is group- or world-writable (mode ${mode})` };
  return base;
}

/** Create `path` (0700) or accept an existing one only if it is ours and private; tighten read bits. */
export function ensureSecureDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new TracerError("E_DIR_CREATE", `cannot create ${path}: ${(e as Error).message}`, Exit.error, {
      cause: e,
    });
  }
  const c = checkDir(path);
  if (c.problem)
    throw refused(
      "E_DIR_UNSAFE",
      `refusing to use ${path}: it ${c.problem}`,
      "fix its owner/mode (chmod 700) or point TRACER_STATE_DIR / TRACER_RUNTIME_DIR elsewhere",
    );
  if (c.mode !== "0700") chmodSync(path, 0o700);
}

/** Ensure both dirs; returns the derived file paths. Unix socket paths are limited to 107 bytes. */
export function ensureDirs(d: Dirs = resolveDirs()): DirPaths {
  ensureSecureDir(d.state);
  ensureSecureDir(d.runtime);
  const p = paths(d);
  if (Buffer.byteLength(p.socket) > 107)
    throw new TracerError(
      "E_SOCKET_PATH",
      `socket path ${p.socket} is longer than the 107 bytes a Unix socket allows`,
      Exit.usage,
      { hint: "set TRACER_RUNTIME_DIR to a shorter directory" },
    );
  return p;
}
