/** What this host allows: gathered without changing anything (no dirs created, no daemon started). */
import { existsSync, readdirSync } from "node:fs";
import { release } from "node:os";
import { probeConnector } from "../observe/connector.ts";
import { probeExecWatch, probeKernelArgv } from "../observe/execwatch.ts";
import { probeOomSources } from "../observe/oom.ts";
import { probeSchedRuntime } from "../observe/schedrt.ts";
import { probeTaskstats } from "../observe/taskstats.ts";
import type { CaptureMode } from "../observe/types.ts";
import { type Strategy, plannedStrategy } from "../spawn/index.ts";
import { captureSelf, isCompiled } from "../spawn/self.ts";
import { COMMIT, VERSION } from "../version.ts";
import { type DirCheck, checkDir, resolveDirs } from "./dirs.ts";
import { DB_FILE } from "../store/db.ts";
import { type StoreCheck, inspectStore } from "../store/inspect.ts";
import { join } from "./path.ts";

export interface Feature {
  name: string;
  available: boolean;
  detail: string;
  neededBy: string;
}

export interface DoctorReport {
  version: string;
  commit: string;
  platform: string;
  arch: string;
  libc: "glibc" | "musl" | "n/a";
  kernel: string;
  uid: number;
  executable: string;
  compiled: boolean;
  spawn: { strategy: Strategy | "none"; reasons: string[] };
  dirs: { state: DirCheck; runtime: DirCheck };
  /** the store in the state dir: its schema, or why tracer cannot read it or record into it */
  store: StoreCheck;
  features: Feature[];
  /** the capture mode `tracer run` picks automatically on this host */
  capture: CaptureMode;
  ok: boolean;
}

function kernelAtLeast(major: number, minor: number): boolean {
  const [a = 0, b = 0] = release().split(/[.-]/).map(Number);
  return a > major || (a === major && b >= minor);
}

function detectLibc(): DoctorReport["libc"] {
  if (process.platform !== "linux") return "n/a";
  try {
    if (readdirSync("/lib").some((f) => f.startsWith("ld-musl-"))) return "musl";
  } catch {}
  return "glibc";
}

function linuxFeatures(): Feature[] {
  // the real probes: subscribe and wait for the kernel's answer (a few ms each)
  const connector = probeConnector();
  const taskstats = probeTaskstats();
  const ledger = probeSchedRuntime();
  const oom = probeOomSources();
  const watch = connector.available
    ? probeExecWatch()
    : { available: false, reason: "needs the proc connector" };
  const kernelArgv = ledger.available
    ? probeKernelArgv()
    : { available: false, reason: "needs the sched runtime ledger" };
  const f = (name: string, available: boolean, detail: string, neededBy: string) => ({
    name,
    available,
    detail,
    neededBy,
  });
  return [
    f("procfs", existsSync("/proc/self/stat"), "/proc mounted", "process identity, sampling, spawn"),
    f("proc connector", connector.available, connector.reason, "exact fork/exec/exit capture"),
    f("taskstats", taskstats.available, taskstats.reason, "exact per-process figures at exit"),
    f("exec watcher", watch.available, watch.reason, "argv of processes shorter than a drain"),
    f("sched runtime", ledger.available, ledger.reason, "exact CPU of processes reaped at once"),
    f(
      "exec reader",
      kernelArgv.available,
      kernelArgv.reason,
      "argv and cwd at exec without a wake-up per exec",
    ),
    // what OomWatch reads (the kernel log, else the memory cgroup's counters, v1 or v2), not one of them
    f("OOM-kill sources", oom.available, oom.reason, "OOM-kill detection"),
    f(
      "child subreaper",
      kernelAtLeast(3, 4),
      "prctl(PR_SET_CHILD_SUBREAPER), Linux ≥ 3.4",
      "tracer run as init",
    ),
    f(
      "close_range",
      kernelAtLeast(5, 11),
      "CLOSE_RANGE_CLOEXEC, Linux ≥ 5.11 (else an fcntl loop)",
      "fd spawn",
    ),
    f("execveat", kernelAtLeast(3, 19), "Linux ≥ 3.19 (else fexecve)", "fd spawn"),
  ];
}

function captureMode(features: Feature[]): CaptureMode {
  const has = (name: string) => features.some((f) => f.name === name && f.available);
  if (has("proc connector")) return has("taskstats") ? "connector+taskstats" : "connector";
  return "proc-poll";
}

export function doctor(): DoctorReport {
  const features = process.platform === "linux" ? linuxFeatures() : [];
  const dirs = resolveDirs();
  const spawn = plannedStrategy();
  const state = checkDir(dirs.state);
  const runtime = checkDir(dirs.runtime);
  // only in a state dir that passed its checks (the store's own open checks it again)
  const storePath = join(dirs.state, DB_FILE);
  const store = state.problem || !state.exists ? { path: storePath, exists: false } : inspectStore(storePath);
  return {
    version: VERSION,
    commit: COMMIT,
    platform: process.platform,
    arch: process.arch,
    libc: detectLibc(),
    kernel: release(),
    uid: process.getuid?.() ?? -1,
    executable: captureSelf().path,
    compiled: isCompiled(),
    spawn,
    dirs: { state, runtime },
    store,
    features,
    capture: captureMode(features),
    ok: spawn.strategy !== "none" && !state.problem && !runtime.problem && !store.problem,
  };
}
