/** What this host allows: gathered without changing anything (no dirs created, no daemon started). */
import { existsSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { release } from "node:os";
import { type Strategy, plannedStrategy } from "../spawn/index.ts";
import { captureSelf, isCompiled } from "../spawn/self.ts";
import { COMMIT, VERSION } from "../version.ts";
import { type DirCheck, checkDir, resolveDirs } from "./dirs.ts";

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
  features: Feature[];
  ok: boolean;
}

const CAP_NET_ADMIN = 12n;

function capEff(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
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
  const netAdmin = ((capEff() >> CAP_NET_ADMIN) & 1n) === 1n;
  let initNetNs = false;
  let nsDetail = "cannot compare with pid 1";
  try {
    initNetNs = readlinkSync("/proc/self/ns/net") === readlinkSync("/proc/1/ns/net");
    nsDetail = initNetNs ? "same network namespace as pid 1" : "own network namespace (container?)";
  } catch {}
  const f = (name: string, available: boolean, detail: string, neededBy: string) => ({
    name,
    available,
    detail,
    neededBy,
  });
  return [
    f("procfs", existsSync("/proc/self/stat"), "/proc mounted", "process identity, sampling, spawn"),
    f(
      "proc connector",
      netAdmin && initNetNs,
      `${netAdmin ? "CAP_NET_ADMIN" : "no CAP_NET_ADMIN"}; ${nsDetail}`,
      "exact fork/exec/exit capture",
    ),
    f(
      "taskstats",
      netAdmin,
      netAdmin ? "CAP_NET_ADMIN" : "needs CAP_NET_ADMIN (root)",
      "exact per-process figures at exit",
    ),
    f("cgroup v2", existsSync("/sys/fs/cgroup/cgroup.controllers"), "/sys/fs/cgroup", "OOM-kill detection"),
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

export function doctor(): DoctorReport {
  const dirs = resolveDirs();
  const spawn = plannedStrategy();
  const state = checkDir(dirs.state);
  const runtime = checkDir(dirs.runtime);
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
    features: process.platform === "linux" ? linuxFeatures() : [],
    ok: spawn.strategy !== "none" && !state.problem && !runtime.problem,
  };
}
