/**
 * The init side of `tracer run`: a child subreaper that runs CMD, forwards signals to it, reaps every
 * orphan, and ends with CMD's status.
 *
 * Reaping without stealing Bun's child: CMD is started with Bun.spawn and Bun waits for that pid itself.
 * We never call wait4(-1): every REAP_MS we list our own children (/proc/self/task/T/children) and call
 * wait4(pid, WNOHANG) only for pids other than CMD, so CMD's status always reaches Bun.
 */
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { type Reaped, reapPid, setChildSubreaper } from "../../ffi/libc.ts";
import { childrenOf } from "../observe/procfs.ts";

export const FORWARDED = [
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
] as const;
const REAP_MS = 100;
const SCAN_ALL_EVERY = 10;

const untouched = (env: Record<string, string | undefined>) => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
};

function mainThreadChildren(): number[] {
  try {
    const t = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "latin1");
    return t
      .split(" ")
      .filter((s) => s.trim() !== "")
      .map(Number);
  } catch {
    return childrenOf(process.pid);
  }
}

export interface ChildEnd {
  pid: number;
  exitCode?: number;
  signal?: number;
  /** the status a shell would report: the code, or 128 + signal */
  status: number;
  startedAt: number;
  endedAt: number;
  /** wait4 rusage of CMD as Bun reports it */
  reaped: Reaped;
}

export interface SuperviseOptions {
  cmd: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** CMD has started (before any of its output can matter to us) */
  onSpawn?: (pid: number, at: number) => void;
  /** an orphan (not CMD) was reaped */
  onReaped?: (r: Reaped, at: number) => void;
}

const TTY_SIGNALS = new Set<NodeJS.Signals>(["SIGINT", "SIGQUIT", "SIGWINCH"]);

/** /proc/self/stat: a controlling terminal (tty_nr ≠ 0) whose foreground group (tpgid) is ours. */
function inTerminalForeground(): boolean {
  try {
    const t = readFileSync("/proc/self/stat", "latin1");
    const f = t.slice(t.lastIndexOf(")") + 2).split(" ");
    return Number(f[4]) !== 0 && Number(f[5]) === Number(f[2]);
  } catch {
    return false;
  }
}

/** CMD could not be started; `status` is what a shell reports (127 not found, 126 not runnable). */
export class NotRunnable extends Error {
  override readonly name = "NotRunnable";
  constructor(
    message: string,
    readonly status: number,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

export const signalNumber = (name: string | null | undefined): number | undefined =>
  name ? (constants.signals as Record<string, number>)[name] : undefined;

export class Supervisor {
  subreaper = false;
  orphansReaped = 0;
  private rounds = 0;
  private child: ReturnType<typeof Bun.spawn> | undefined;
  private pending: NodeJS.Signals[] = [];
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  constructor(private readonly opts: SuperviseOptions) {}

  /** Runs CMD to its end; resolves with its status. Throws TracerError (127/126) when CMD cannot start. */
  async run(): Promise<ChildEnd> {
    this.subreaper = setChildSubreaper();
    for (const sig of FORWARDED) {
      const h = () => this.forward(sig);
      this.handlers.set(sig, h);
      process.on(sig, h);
    }
    const reaper = setInterval(() => this.reapOrphans(), REAP_MS);
    try {
      const startedAt = Date.now();
      const child = this.spawn();
      this.child = child;
      this.opts.onSpawn?.(child.pid, startedAt);
      for (const sig of this.pending.splice(0)) this.forward(sig);
      await child.exited;
      const endedAt = Date.now();
      this.reapOrphans(true);
      const signal = signalNumber(child.signalCode === null ? null : String(child.signalCode));
      const exitCode = signal === undefined ? (child.exitCode ?? 0) : undefined;
      const ru = child.resourceUsage();
      const reaped: Reaped = {
        pid: child.pid,
        exitCode,
        signal,
        coreDumped: false,
        userUs: Number(ru?.cpuTime.user ?? 0),
        systemUs: Number(ru?.cpuTime.system ?? 0),
        // Bun starts CMD with vfork semantics: ru_maxrss counts Bun's own memory before the exec
        maxRssKb: undefined,
      };
      return {
        pid: child.pid,
        exitCode,
        signal,
        status: signal ? 128 + signal : exitCode!,
        startedAt,
        endedAt,
        reaped,
      };
    } finally {
      clearInterval(reaper);
    }
  }

  /**
   * Stop handling signals. Call it last: until then a signal that arrives after CMD ended (while the
   * run is being written) is absorbed instead of killing tracer halfway.
   */
  dispose(): void {
    for (const [sig, h] of this.handlers) process.off(sig, h);
    this.handlers.clear();
  }

  private spawn() {
    try {
      return Bun.spawn(this.opts.cmd, {
        stdio: ["inherit", "inherit", "inherit"],
        // CMD's environment is the user's, untouched (LD_LIBRARY_PATH, conda, modules): unlike a self-spawn
        // (src/core/env.ts) it does not run our code, so there is nothing to scrub
        env: untouched(this.opts.env ?? process.env),
        cwd: this.opts.cwd,
      });
    } catch (e) {
      const missing = (e as { code?: string }).code === "ENOENT";
      throw new NotRunnable(
        `${this.opts.cmd[0]}: ${missing ? "command not found" : (e as Error).message}`,
        missing ? 127 : 126,
        e,
      );
    }
  }

  private forward(sig: NodeJS.Signals) {
    const c = this.child;
    if (!c) return void this.pending.push(sig);
    if (c.exitCode !== null || c.signalCode !== null) return;
    // CMD shares our process group: when that group is a terminal's foreground, the terminal already
    // sent Ctrl-C / Ctrl-\ / resize to CMD; a second copy would turn a graceful stop into a forced one
    if (TTY_SIGNALS.has(sig) && inTerminalForeground()) return;
    try {
      process.kill(c.pid, sig);
    } catch {}
  }

  /**
   * wait4(pid, WNOHANG) every child that is not CMD. Orphans are re-parented to the subreaper's first
   * live thread, the main one: read only its children list, and every thread's once a second.
   */
  reapOrphans(all = ++this.rounds % SCAN_ALL_EVERY === 0): void {
    const mine = this.child?.pid;
    for (const pid of all ? childrenOf(process.pid) : mainThreadChildren()) {
      if (pid === mine) continue;
      const r = reapPid(pid);
      if (!r) continue;
      this.orphansReaped++;
      this.opts.onReaped?.(r, Date.now());
    }
  }
}
