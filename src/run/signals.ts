/**
 * Which signals `tracer run` forwards to CMD: every signal an init can forward — 1–31 and the
 * real-time ones — except SIGCHLD (tracer's own business), SIGKILL and SIGSTOP (cannot be caught) and
 * the synchronous faults, which concern tracer itself (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS).
 */
import { realtimeRange } from "../../ffi/init.ts";

const NOT_FORWARDED = new Set([
  "SIGCHLD",
  "SIGKILL",
  "SIGSTOP",
  "SIGSEGV",
  "SIGBUS",
  "SIGILL",
  "SIGFPE",
  "SIGABRT",
  "SIGIOT",
  "SIGTRAP",
  "SIGSYS",
]);

/**
 * node:os's constants.signals (an object without a prototype: "constructor" or "toString" is no signal
 * name): Linux's numbers (x86_64 and arm64 share them) written out, since importing
 * node:os costs `tracer run` ~0.35 ms at start (issue 15); other systems' from node:os.
 */
const LINUX_SIGNALS: Record<string, number> = Object.assign(Object.create(null) as Record<string, number>, {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGCHLD: 17,
  SIGSTKFLT: 16,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
});

const table: Record<string, number> =
  process.platform === "linux"
    ? LINUX_SIGNALS
    : ((require("node:os") as typeof import("node:os")).constants.signals as Record<string, number>);

/** Forwarded signal numbers 1–31 (by their standard names), then SIGRTMIN..SIGRTMAX. */
export function forwardedSignals(): number[] {
  // (loops, not map/filter/sort: each Array builtin's first use costs `tracer run` ~0.05 ms, issue 15)
  const forwarded: boolean[] = [];
  for (const name in table) {
    const n = table[name]!;
    if (n < 32) forwarded[n] = true;
  }
  for (const name of NOT_FORWARDED) {
    const n = table[name];
    if (n !== undefined) forwarded[n] = false;
  }
  const out: number[] = [];
  for (let n = 1; n < 32; n++) if (forwarded[n]) out.push(n);
  const { min, max } = realtimeRange();
  for (let n = min; n <= max; n++) out.push(n);
  return out;
}

export const signalNumber = (name: string | null | undefined): number | undefined =>
  name ? table[name] : undefined;

/**
 * A signal given on the command line: a name with or without SIG (TERM, SIGTERM), a number, or
 * RTMIN+N / RTMAX-N. Undefined when it is none of these.
 */
export function parseSignal(text: string): number | undefined {
  const t = text.trim().toUpperCase().replace(/^SIG/, "");
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n >= 1 && n <= 64 ? n : undefined;
  }
  const rt = /^RT(MIN|MAX)([+-]\d+)?$/.exec(t);
  if (rt) {
    const { min, max } = realtimeRange();
    const n = (rt[1] === "MIN" ? min : max) + Number(rt[2] ?? 0);
    return n >= min && n <= max ? n : undefined;
  }
  return table[`SIG${t}`];
}
