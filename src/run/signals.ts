/**
 * Which signals `tracer run` forwards to CMD: every signal an init can forward — 1–31 and the
 * real-time ones — except SIGCHLD (tracer's own business), SIGKILL and SIGSTOP (cannot be caught) and
 * the synchronous faults, which concern tracer itself (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS).
 */
import { constants } from "node:os";
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

const table = constants.signals as Record<string, number>;

/** Forwarded signal numbers 1–31 (by their standard names), then SIGRTMIN..SIGRTMAX. */
export function forwardedSignals(): number[] {
  const excluded = new Set([...NOT_FORWARDED].map((name) => table[name]));
  const out = [...new Set(Object.values(table))]
    .filter((n) => n < 32 && !excluded.has(n))
    .sort((a, b) => a - b);
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
