/** Client-side lifecycle: start the daemon (single instance, stale cleanup), and stop it gracefully. */
import { O_CLOEXEC } from "../core/fsflags.ts";
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { type DirPaths, ensureDirs } from "../core/dirs.ts";
import { shownPath } from "../core/trusted.ts";
import { checkName } from "../core/names.ts";
import { Exit, TracerError } from "../errors.ts";
import { type Strategy, spawnSelf } from "../spawn/index.ts";
import { DaemonClient } from "./client.ts";
import { FileLock } from "./lock.ts";
import type { DaemonInfo } from "./state.ts";

const LOG_ROTATE_BYTES = 10 * 1024 * 1024;

export type Probe =
  | { state: "running"; info: DaemonInfo }
  | { state: "stale" | "absent" | "hung"; pid?: number };

function pidFromFile(p: DirPaths): number | undefined {
  try {
    const pid = JSON.parse(readFileSync(p.pidFile, "utf8")).pid;
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Is a daemon there? The flock decides liveness; the socket decides whether it answers. */
export async function probe(p: DirPaths): Promise<Probe> {
  if (p.runtimeMissing) return { state: "absent" };
  const client = new DaemonClient(p);
  try {
    return { state: "running", info: await client.info(false) };
  } catch (e) {
    if (!(e instanceof TracerError) || e.exitCode !== Exit.notRunning) throw e;
  }
  if (FileLock.isFree(p.daemonLock)) {
    let leftovers = false;
    for (const f of [p.socket, p.pidFile])
      try {
        statSync(f);
        leftovers = true;
      } catch {}
    return { state: leftovers ? "stale" : "absent" };
  }
  return { state: "hung", pid: pidFromFile(p) };
}

function cleanStale(p: DirPaths) {
  rmSync(p.socket, { force: true });
  rmSync(p.pidFile, { force: true });
}

function openLog(p: DirPaths): number {
  try {
    if (statSync(p.log).size > LOG_ROTATE_BYTES) renameSync(p.log, `${p.log}.1`);
  } catch {}
  const flags =
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | O_CLOEXEC | constants.O_NOFOLLOW;
  const fd = openSync(p.log, flags, 0o600);
  if ((fstatSync(fd).mode & 0o7777) !== 0o600) fchmodSync(fd, 0o600); // a log an older tracer made 0644
  return fd;
}

function lastLogLines(p: DirPaths, n: number): string {
  try {
    return readFileSync(p.log, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Exists and is not a zombie (a Bun-spawned daemon that died stays our unreaped child). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
};

export interface InitOptions {
  run?: string;
  pipeline?: string;
  force?: boolean;
  strategy?: Strategy;
  timeoutMs?: number;
  /** OTLP export of every run (validated by the caller; the daemon resolves it again) */
  otlp?: { endpoint?: string; insecure?: boolean };
}

export interface InitResult {
  info: DaemonInfo;
  cleanedStale: boolean;
  replaced?: number;
}

export async function initDaemon(opts: InitOptions = {}): Promise<InitResult> {
  checkName(opts.run, "--run");
  checkName(opts.pipeline, "--pipeline");
  const p = ensureDirs();
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const initLock = await FileLock.acquire(p.initLock, 30_000, "another `tracer init` to finish");
  try {
    let replaced: number | undefined;
    let found = await probe(p);
    if (found.state === "running") {
      if (!opts.force)
        throw new TracerError(
          "E_ALREADY_RUNNING",
          `a tracer daemon is already running (pid ${found.info.pid}, version ${found.info.version})`,
          Exit.alreadyRunning,
          { hint: "use `tracer init --force` to restart it, or `tracer start` to begin a new run" },
        );
      replaced = found.info.pid;
      await terminateDaemon(p, timeoutMs);
      found = await probe(p);
    }
    if (found.state === "hung") throw hungError(found.pid);
    const cleanedStale = found.state === "stale";
    if (cleanedStale) cleanStale(p);

    const logFd = openLog(p);
    let pid: number;
    let strategy: Strategy;
    try {
      const args = [
        "__daemon",
        ...(opts.run ? ["--run", opts.run] : []),
        ...(opts.pipeline ? ["--pipeline", opts.pipeline] : []),
        ...(opts.otlp?.endpoint ? ["--otlp-endpoint", opts.otlp.endpoint] : []),
        ...(opts.otlp?.insecure ? ["--otlp-insecure"] : []),
      ];
      const spawned = spawnSelf({ args, logFd }, opts.strategy);
      pid = spawned.pid;
      strategy = spawned.strategy;
    } finally {
      closeSync(logFd);
    }
    return { info: await waitForDaemon(p, pid, strategy, timeoutMs), cleanedStale, replaced };
  } finally {
    initLock.release();
  }
}

const hungError = (pid: number | undefined) =>
  new TracerError(
    "E_DAEMON_HUNG",
    `a daemon${pid ? ` (pid ${pid})` : ""} holds the lock but does not answer on its socket; it was not killed`,
    Exit.error,
    { hint: `inspect it (tracer logs), then stop it yourself${pid ? ` with \`kill ${pid}\`` : ""}` },
  );

async function waitForDaemon(
  p: DirPaths,
  pid: number,
  strategy: Strategy,
  timeoutMs: number,
): Promise<DaemonInfo> {
  const client = new DaemonClient(p);
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    try {
      const info = await client.info(false);
      if (info.pid === pid) return info;
    } catch (e) {
      if (!(e instanceof TracerError) || e.exitCode !== Exit.notRunning) throw e;
    }
    if (!alive(pid))
      throw new TracerError(
        "E_DAEMON_DIED",
        `the daemon (pid ${pid}, ${strategy} spawn) exited during start-up`,
        Exit.error,
        {
          hint: `its log (${shownPath(p.log)}) ends with:\n${lastLogLines(p, 10)}`,
        },
      );
    if (Date.now() > deadline)
      throw new TracerError(
        "E_DAEMON_TIMEOUT",
        `the daemon (pid ${pid}) did not answer within ${timeoutMs} ms`,
        Exit.error,
        {
          hint: `see ${shownPath(p.log)}`,
        },
      );
    await Bun.sleep(delay);
  }
}

export interface TerminateResult {
  pid: number | undefined;
  wasRunning: boolean;
  cleanedStale: boolean;
}

/** Ask the daemon to stop and wait until its lock is released (it has exited). Never kills anything. */
export async function terminateDaemon(
  p: DirPaths = ensureDirs(),
  timeoutMs = 10_000,
): Promise<TerminateResult> {
  const found = await probe(p);
  if (found.state !== "running") {
    if (found.state === "hung") throw hungError(found.pid);
    if (found.state === "stale") cleanStale(p);
    return { pid: undefined, wasRunning: false, cleanedStale: found.state === "stale" };
  }
  const pid = found.info.pid;
  await new DaemonClient(p).terminate();
  const deadline = Date.now() + timeoutMs;
  // the kernel drops the flock while the process exits; wait for the process itself to be gone too
  for (let delay = 2; !FileLock.isFree(p.daemonLock) || alive(pid); delay = Math.min(delay * 2, 50)) {
    if (Date.now() > deadline)
      throw new TracerError(
        "E_TERMINATE_TIMEOUT",
        `daemon pid ${pid} is still running ${timeoutMs} ms after terminate`,
        Exit.error,
        {
          hint: "see `tracer logs`; it was not killed",
        },
      );
    await Bun.sleep(delay);
  }
  return { pid, wasRunning: true, cleanedStale: false };
}
