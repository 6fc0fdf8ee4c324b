/**
 * Figures as tables and messages show them: sizes (KiB, MiB…), durations, CPU times, and how a process
 * or run ended (exit code, signal name, OOM kill).
 */
import { dfgOnly } from "../core/jit-tier.ts";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** A size in bytes as tables show it: `512B`, `1.5KiB`, `12MiB` (binary units, one decimal under 10); "-" when unknown. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "-";
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${v}B`;
  // A whole number of bytes over a power of 1024 is exact (a binary fraction), and so are v × 10 and
  // the rounding below while v < 1024: the digits toFixed gives (ties round up), without toFixed (a
  // table of 50,000 steps formats some 300,000 sizes).
  if (v < 1024 && Number.isSafeInteger(n) && n > 0) {
    if (v >= 10) return `${Math.round(v)}${UNITS[i]}`;
    const tenths = Math.round(v * 10);
    return `${(tenths - (tenths % 10)) / 10}.${tenths % 10}${UNITS[i]}`;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)}${UNITS[i]}`;
}

/** A duration given in µs, in seconds: `1.234s` under 10 s, `12.3s` under 10 min, then `1234s`; "-" when unknown. */
export function seconds(us: number | null | undefined): string {
  if (us === null || us === undefined) return "-";
  const s = us / 1e6;
  return s < 10 ? `${s.toFixed(3)}s` : s < 600 ? `${s.toFixed(1)}s` : `${Math.round(s)}s`;
}

/** CPU time for a reader: ms under a second, seconds under an hour, then hours ("-" when unknown). */
export function cpuText(us: number | null | undefined): string {
  if (us === null || us === undefined) return "-";
  if (us < 1e6) return `${Math.round(us / 1000)}ms`;
  if (us < 3.6e9) return seconds(us);
  return `${(us / 3.6e9).toFixed(2)}h`;
}

/** Linux's signal names, 1–31 (the same numbers on x86-64 and arm64, the hosts tracer records on) */
const SIGNAL_NAMES = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/** A signal's name ("SIGKILL"), or "signal N" for a real-time or unknown number. */
export const signalName = (n: number): string => SIGNAL_NAMES[n] || `signal ${n}`;

/** How a process or run ended: "0", "1", "SIGKILL" (killed by it), "OOM killed", or "?" (not known). */
export function exitText(
  code: number | null | undefined,
  signal: number | null | undefined,
  oom = false,
): string {
  if (oom) return "OOM killed";
  if (signal !== null && signal !== undefined) return signalName(signal);
  if (code !== null && code !== undefined) return String(code);
  return "?";
}

// a report formats some 300,000 cells of a 50,000-step run with these (src/core/jit-tier.ts)
dfgOnly(bytes, seconds, cpuText, exitText);
