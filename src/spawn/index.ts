/**
 * Start a detached process from our own executable: the daemon. Three strategies, strongest first:
 *  fd       Linux: native fork+exec of the /proc/self/exe descriptor opened at start-up (ffi/spawn.c)
 *  proc-fd  Linux: Bun.spawn of /proc/self/fd/N (same file, no native code)
 *  verified anywhere: Bun.spawn of the start-up path after re-checking it (./verified.ts)
 * A forced strategy (flag or TRACER_SPAWN) never falls back; the automatic choice falls back only when
 * a strategy is unavailable, never when a security check refuses.
 */
import { loadNative, spawnFromFd } from "../../ffi/native.ts";
import { scrubEnv } from "../core/env.ts";
import { verifyImageBeforeExec } from "../release/index.ts";
import { Exit, TracerError, refused } from "../errors.ts";
import { type SelfImage, captureSelf, fdIdentity } from "./self.ts";
import { verifyForSpawn } from "./verified.ts";

export const STRATEGIES = ["fd", "proc-fd", "verified"] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface SpawnRequest {
  args: string[];
  logFd: number;
  env?: Record<string, string | undefined>;
  argv0?: string;
}

export interface Spawned {
  pid: number;
  strategy: Strategy;
  /** why earlier strategies were skipped */
  skipped: string[];
}

export function parseStrategy(value: string | undefined): Strategy | undefined {
  if (value === undefined || value === "" || value === "auto") return undefined;
  if ((STRATEGIES as readonly string[]).includes(value)) return value as Strategy;
  throw new TracerError(
    "E_SPAWN_STRATEGY",
    `unknown spawn strategy "${value}" (expected auto, ${STRATEGIES.join(", ")})`,
    Exit.usage,
  );
}

class Unavailable extends Error {}

/** The fd must be a regular file nobody else can write, owned by root or us. */
function checkExeFd(self: SelfImage): number {
  if (self.exeFd === undefined) throw new Unavailable(`no /proc/self/exe descriptor (${self.exeFdError})`);
  const st = fdIdentity(self.exeFd);
  const me = process.getuid?.() ?? 0;
  if (!st.isFile) throw refused("E_SPAWN_EXE_TYPE", "own executable is not a regular file");
  if (st.mode & 0o022)
    throw refused(
      "E_SPAWN_EXE_WRITABLE",
      `own executable is group- or world-writable (mode ${(st.mode & 0o777).toString(8)})`,
    );
  if (st.uid !== 0 && st.uid !== me)
    throw refused("E_SPAWN_EXE_OWNER", `own executable is owned by uid ${st.uid}`);
  return self.exeFd;
}

const argvFor = (self: SelfImage, req: SpawnRequest) => [
  req.argv0 ?? "tracer",
  ...(self.script ? [self.script] : []),
  ...req.args,
];

/** The descriptor both Linux strategies exec: checked, and matched against an installed signature. */
function execFd(self: SelfImage): number {
  if (process.platform !== "linux") throw new Unavailable("not Linux");
  const fd = checkExeFd(self);
  verifyImageBeforeExec({ fd, path: self.path }); // the very fd exec'd must match an installed signature
  return fd;
}

function spawnFd(self: SelfImage, req: SpawnRequest, env: Record<string, string>): number {
  const fd = execFd(self);
  let pid: number;
  try {
    pid = spawnFromFd(fd, argvFor(self, req), env, req.logFd);
  } catch (e) {
    throw new Unavailable((e as Error).message);
  }
  if (pid < 0) throw new Unavailable(`native spawn failed (errno ${-pid})`);
  return pid;
}

function spawnByPath(path: string, self: SelfImage, req: SpawnRequest, env: Record<string, string>): number {
  const argv = argvFor(self, req);
  const child = Bun.spawn([path, ...argv.slice(1)], {
    argv0: argv[0],
    env,
    cwd: "/",
    stdio: ["ignore", req.logFd, req.logFd],
    detached: true,
  });
  child.unref();
  return child.pid;
}

function spawnProcFd(self: SelfImage, req: SpawnRequest, env: Record<string, string>): number {
  const fd = execFd(self);
  return spawnByPath(`/proc/self/fd/${fd}`, self, req, env);
}

function spawnVerified(self: SelfImage, req: SpawnRequest, env: Record<string, string>): number {
  const path = verifyForSpawn(self, req.env ?? process.env);
  verifyImageBeforeExec({ path }); // the file just re-checked must match an installed signature
  return spawnByPath(path, self, req, env);
}

const impl: Record<Strategy, (s: SelfImage, r: SpawnRequest, e: Record<string, string>) => number> = {
  fd: spawnFd,
  "proc-fd": spawnProcFd,
  verified: spawnVerified,
};

export function spawnSelf(req: SpawnRequest, forced?: Strategy): Spawned {
  const self = captureSelf();
  const base = scrubEnv(req.env ?? process.env);
  const order: readonly Strategy[] = forced ? [forced] : STRATEGIES;
  const skipped: string[] = [];
  for (const strategy of order) {
    try {
      // the child learns how it was started (shown by `tracer info`)
      const env = { ...base, TRACER_SPAWNED_BY: strategy };
      return { pid: impl[strategy](self, req, env), strategy, skipped };
    } catch (e) {
      if (!(e instanceof Unavailable)) throw e;
      if (forced)
        throw new TracerError(
          "E_SPAWN_UNAVAILABLE",
          `spawn strategy "${strategy}" is not available here: ${e.message}`,
        );
      skipped.push(`${strategy}: ${e.message}`);
    }
  }
  throw new TracerError("E_SPAWN_FAILED", `no spawn strategy worked: ${skipped.join("; ")}`);
}

/** What `doctor` reports: the strategy auto would pick, and why the others were passed over. */
export function plannedStrategy(): { strategy: Strategy | "none"; reasons: string[] } {
  const self = captureSelf();
  const reasons: string[] = [];
  if (process.platform !== "linux") reasons.push("fd, proc-fd: not Linux");
  else if (self.exeFd === undefined) reasons.push(`fd, proc-fd: ${self.exeFdError}`);
  else {
    try {
      checkExeFd(self);
      try {
        // compiling is cheap (~8 ms) and is the only true test that native spawn will work
        loadNative();
        return { strategy: "fd", reasons: ["native fork+execveat of /proc/self/exe descriptor available"] };
      } catch (e) {
        reasons.push(`fd: ${(e as Error).message}`);
        return { strategy: "proc-fd", reasons };
      }
    } catch (e) {
      return { strategy: "none", reasons: [(e as Error).message] };
    }
  }
  try {
    verifyForSpawn(self);
    return { strategy: "verified", reasons };
  } catch (e) {
    reasons.push(`verified: ${(e as Error).message}`);
    return { strategy: "none", reasons };
  }
}
