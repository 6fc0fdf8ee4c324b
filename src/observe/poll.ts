/**
 * The fallback capture source: poll the process tree below a root pid through /proc (no netlink needed;
 * works in containers and without root). It sees only processes alive at a poll; exit codes only of
 * processes caught as zombies. `tracer run` adds wait4 figures for its children and orphans.
 */
import { decodeWaitStatus } from "../../ffi/libc.ts";
import { hasEnded, treeBelow } from "./procfs.ts";
import type { CaptureEvent, CaptureSource, SourceStats } from "./types.ts";

interface Known {
  startTicks: number;
  comm: string;
  exited: boolean;
}

export class ProcPollSource implements CaptureSource {
  readonly name = "proc-poll";
  private cbs: ((e: CaptureEvent) => void)[] = [];
  private known = new Map<number, Known>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private events = 0;

  constructor(
    private readonly rootPid: number,
    private readonly intervalMs = 50,
  ) {}

  onEvent(cb: (e: CaptureEvent) => void): void {
    this.cbs.push(cb);
  }

  async start(): Promise<void> {
    this.poll();
    this.timer = setInterval(() => this.poll(), this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.poll();
  }

  stats(): SourceStats {
    return { events: this.events, lost: 0, lossReasons: {} };
  }

  private emit(e: CaptureEvent) {
    this.events++;
    for (const cb of this.cbs) cb(e);
  }

  /** One walk of the tree: new pids → fork+exec, a changed comm → exec, zombies and vanished pids → exit. */
  poll(): void {
    const at = Date.now();
    const alive = new Set<number>();
    for (const { pid, ppid, st } of treeBelow(this.rootPid)) {
      alive.add(pid);
      let k = this.known.get(pid);
      if (k && k.startTicks !== st.startTicks) {
        if (!k.exited) this.emit({ type: "exit", at, pid, tgid: pid });
        k = undefined;
      }
      if (!k) {
        k = { startTicks: st.startTicks, comm: st.comm, exited: false };
        this.known.set(pid, k);
        this.emit({ type: "fork", at, pid, tgid: pid, ppid, ptgid: ppid });
        this.emit({ type: "exec", at, pid, tgid: pid });
      } else if (k.comm !== st.comm && !k.exited) {
        k.comm = st.comm;
        this.emit({ type: "exec", at, pid, tgid: pid });
      }
      if (hasEnded(st) && !k.exited) {
        k.exited = true;
        this.emit({ type: "exit", at, pid, tgid: pid, ...decodeWaitStatus(st.exitStatus) });
      }
    }
    for (const [pid, k] of this.known) {
      if (alive.has(pid)) continue;
      if (!k.exited) this.emit({ type: "exit", at, pid, tgid: pid });
      this.known.delete(pid);
    }
  }
}
