/**
 * The daemon process: holds the single-instance lock, serves the /v1 API on a 0600 Unix socket, and
 * on terminate (API or SIGTERM/SIGINT) flushes, removes its socket and pid file, and exits.
 */
import { chmodSync, existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { ensureDirs } from "../core/dirs.ts";
import { releaseStartupCode } from "../core/startup-code.ts";
import { shownPath } from "../core/trusted.ts";
import { type OtlpFlags, describeOtlp, otlpForCommand } from "../export/config.ts";
import { COMMIT, VERSION } from "../version.ts";
import { MAX_BODY, fail, handle } from "./api.ts";
import { FileLock } from "./lock.ts";
import { log } from "./log.ts";
import { DaemonState } from "./state.ts";

export interface DaemonOptions {
  strategy: string;
  run?: string;
  pipeline?: string;
  otlp?: OtlpFlags;
}

export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const p = ensureDirs();
  const lock = FileLock.tryAcquire(p.daemonLock);
  if (!lock) {
    log("error", "another daemon holds the lock; exiting", { lock: shownPath(p.daemonLock) });
    process.exitCode = 5;
    return;
  }
  // We hold the lock, so any socket file left here belongs to a dead daemon.
  if (existsSync(p.socket)) {
    log("warn", "removing stale socket left by a previous daemon", { socket: shownPath(p.socket) });
    rmSync(p.socket, { force: true });
  }

  // an endpoint that does not pass the guard turns export off (logged); init already refused bad flags
  const otlp = otlpForCommand(opts.otlp ?? {}, (l) => log("warn", l));
  if (otlp) log("info", "exporting runs", { to: describeOtlp(otlp) });
  const state = new DaemonState(
    {
      version: VERSION,
      commit: COMMIT,
      strategy: opts.strategy,
      socket: shownPath(p.socket),
      log: shownPath(p.log),
      stateDir: p.state,
    },
    otlp,
  );

  // the first run is recording before the socket answers, so `init` returns only once capture is live
  if (opts.run || opts.pipeline) {
    const run = await state.start(opts.run, opts.pipeline);
    log("info", "run started", { run: run.id, name: run.name, pipeline: run.pipeline });
  }

  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log("info", "daemon stopping", { reason: why });
    const run = await state.stop();
    if (run) log("info", "run ended by shutdown", { run: run.id, name: run.name });
    await state.exportsDone();
    await server.stop(false);
    rmSync(p.socket, { force: true });
    rmSync(p.pidFile, { force: true });
    log("info", "daemon stopped", { pid: process.pid });
    // the lock is dropped by the kernel as the process exits, never before: "lock free" means gone
    process.exit(0);
  };

  const server = Bun.serve({
    unix: p.socket,
    maxRequestBodySize: MAX_BODY,
    fetch: (req) =>
      handle(req, state, { terminate: () => setTimeout(() => shutdown("terminate request"), 5) }),
    error: (e) => {
      log("warn", "request failed", { error: e.message });
      return fail(400, "E_BAD_REQUEST", "malformed request");
    },
  });
  chmodSync(p.socket, 0o600);

  const pidTmp = `${p.pidFile}.${process.pid}`;
  writeFileSync(
    pidTmp,
    `${JSON.stringify({ pid: process.pid, version: VERSION, strategy: opts.strategy })}\n`,
    {
      mode: 0o600,
    },
  );
  renameSync(pidTmp, p.pidFile);

  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => void shutdown(sig));
  process.on("SIGHUP", () => log("info", "SIGHUP ignored"));
  process.on("uncaughtException", (e) => log("error", "uncaught exception", { error: e.message }));
  process.on("unhandledRejection", (e) => log("error", "unhandled rejection", { error: String(e) }));

  log("info", "daemon started", {
    pid: process.pid,
    version: VERSION,
    strategy: opts.strategy,
    socket: shownPath(p.socket),
  });
  // the executable's start-up pages, once it serves (src/core/startup-code.ts)
  setTimeout(releaseStartupCode, 1000).unref();
}
