import { type Stats, lstatSync } from "../../ffi/fs.ts";
import { homedir } from "./host.ts";
import { join } from "./path.ts";
import { Exit, TracerError } from "../errors.ts";
import { type TrustedDir, dirProblem, trustDir } from "./trusted.ts";

/** Where tracer keeps state (database, log) and runtime files (socket, pid, locks): paths as configured. */
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
  /** the runtime dir does not exist (yet): no daemon can be listening */
  runtimeMissing?: boolean;
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

/** The derived file paths; through the checked dirs' fds when they exist (src/core/trusted.ts). */
function derive(d: Dirs, state: TrustedDir | undefined, runtime: TrustedDir | undefined): DirPaths {
  const inRuntime = (n: string) => (runtime ? runtime.at(n) : join(d.runtime, n));
  return {
    ...d,
    socket: inRuntime("tracer.sock"),
    pidFile: inRuntime("daemon.pid"),
    daemonLock: inRuntime("daemon.lock"),
    initLock: inRuntime("init.lock"),
    log: state ? state.at("daemon.log") : join(d.state, "daemon.log"),
    ...(runtime ? {} : { runtimeMissing: true }),
  };
}

/**
 * The file paths, for a command that only reads or connects: both dirs are checked (E_DIR_UNSAFE, exit
 * 3, as for every command) but not created. A missing runtime dir means no daemon can be listening.
 */
export function paths(d: Dirs = resolveDirs()): DirPaths {
  return derive(d, trustDir(d.state, { create: false }), trustDir(d.runtime, { create: false }));
}

export interface DirCheck {
  path: string;
  exists: boolean;
  mode?: string;
  owner?: number;
  problem?: string;
}

/** Inspect a dir and its ancestors without changing anything: used by `doctor` and `uninstall --purge`. */
export function checkDir(path: string): DirCheck {
  const { problem } = dirProblem(path);
  let st: Stats | undefined;
  try {
    st = lstatSync(path);
  } catch {}
  if (!st) return { path, exists: false, ...(problem ? { problem } : {}) };
  const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
  return { path, exists: true, mode, owner: st.uid, ...(problem ? { problem } : {}) };
}

/** Create `path` (0700) or accept an existing one only if it and its ancestors are safe; held open. */
export function ensureSecureDir(path: string): TrustedDir {
  return trustDir(path, { create: true }) as TrustedDir;
}

/** Ensure both dirs; returns the derived file paths (reached through the checked dirs' fds). */
export function ensureDirs(d: Dirs = resolveDirs()): DirPaths {
  const p = derive(d, ensureSecureDir(d.state), ensureSecureDir(d.runtime));
  // a Unix socket path is limited to 107 bytes (the /proc/self/fd form is short; other platforms)
  if (Buffer.byteLength(p.socket) > 107)
    throw new TracerError(
      "E_SOCKET_PATH",
      `socket path ${p.socket} is longer than the 107 bytes a Unix socket allows`,
      Exit.usage,
      { hint: "set TRACER_RUNTIME_DIR to a shorter directory" },
    );
  return p;
}
