/** Helpers for tests that start real daemons: read their pid, and make sure none outlives its test. */
import { readFileSync, readlinkSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pidAlive, run, waitFor } from "./harness.ts";

export function daemonPid(env: Record<string, string>): number | undefined {
  try {
    return JSON.parse(readFileSync(join(env.TRACER_RUNTIME_DIR!, "daemon.pid"), "utf8")).pid;
  } catch {
    return undefined;
  }
}

/** Terminate gracefully; if that fails, kill the pid we started (tests only) so nothing leaks. */
export async function stopDaemon(env: Record<string, string>) {
  const pid = daemonPid(env);
  await run(["terminate"], { env });
  if (pid && pidAlive(pid)) {
    process.kill(pid, "SIGKILL");
    await waitFor(() => !pidAlive(pid), 5000, `pid ${pid} to die`).catch(() => {});
  }
}

export const fdTargets = (pid: number) =>
  readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return { fd: Number(fd), target: readlinkSync(`/proc/${pid}/fd/${fd}`) };
    } catch {
      return { fd: Number(fd), target: "?" };
    }
  });

export const environOf = (pid: number) =>
  readFileSync(`/proc/${pid}/environ`, "utf8")
    .split("\0")
    .filter(Boolean)
    .map((kv) => kv.slice(0, kv.indexOf("=")));

/** Field 6 of /proc/PID/stat is the session id; a session leader has sid == pid. */
export function sessionId(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
}

/** All live processes whose /proc/PID/exe is `bin` (to prove nothing was left behind). */
export function processesOf(bin: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/exe`) === bin) out.push(Number(d));
    } catch {}
  }
  return out;
}
