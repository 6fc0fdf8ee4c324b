/**
 * tracer's own command line, environment and working directory as the kernel holds them, for what
 * `tracer run` hands to CMD and records. Bun decodes argv and environ lossily: each invalid UTF-8
 * sequence becomes U+FFFD, so an argument $'\xff' reached CMD as the three bytes EF BF BD and a file
 * name with such a byte could not be named at all. Where a string shows U+FFFD, the bytes are read
 * again from /proc/self (cmdline, environ, cwd) and decoded losslessly (src/core/lossless.ts: each
 * invalid byte a lone surrogate U+DC80–U+DCFF, encoded back to that byte by `cBytes`).
 *
 * Nothing is read when no string shows U+FFFD (the common case: no cost at start-up). A byte string
 * read back is used only when its lossy decoding is exactly the string Bun gave: never a guess.
 */
import { decodeLossless, encodeLossless, hasRawBytes } from "../core/lossless.ts";
import { readFileOrUndefined } from "../../ffi/fs.ts";
import { readCmdline, readCwd } from "../observe/procfs.ts";

const REPLACEMENT = "\ufffd";
const lossy = new TextDecoder();

/** What Bun makes of `exact` (a lossless string): its bytes decoded with U+FFFD for invalid ones. */
const asBunDecodes = (exact: string) => lossy.decode(encodeLossless(exact));

/** The entries of /proc/self/environ, decoded losslessly; undefined when it cannot be read. */
function environ(): string[] | undefined {
  const t = readFileOrUndefined("/proc/self/environ", "latin1");
  if (t === undefined) return undefined;
  const entries = decodeLossless(Buffer.from(t, "latin1")).split("\0");
  if (entries[entries.length - 1] === "") entries.pop();
  return entries;
}

/**
 * `args` (the last args.length entries of this process's argv, as Bun decoded them) with each one Bun
 * decoded lossily replaced by its exact bytes, decoded losslessly. Unchanged off Linux, when none
 * shows U+FFFD, or when /proc/self/cmdline does not end with strings that decode to `args`.
 */
export function exactArgs(args: string[]): string[] {
  if (!args.some((a) => a.includes(REPLACEMENT))) return args;
  const raw = readCmdline(process.pid);
  if (!raw || raw.length < args.length) return args;
  const tail = raw.slice(raw.length - args.length);
  return tail.every((a, i) => asBunDecodes(a) === args[i]) ? tail : args;
}

/**
 * The environment to hand on, as KEY=VALUE strings: `env` (this process's, as Bun decoded it) with
 * every entry Bun decoded lossily replaced by its exact bytes from /proc/self/environ, decoded
 * losslessly (a name with such a byte, which Bun's process.env cannot hold at all, is kept too).
 * `fromProcess` false: `env` is not this process's environment, nothing is read back.
 */
export function exactEnviron(env: Record<string, string | undefined>, fromProcess = true): string[] {
  const out: string[] = [];
  const inexact: string[] = [];
  for (const k in env) {
    const v = env[k];
    if (v === undefined) continue;
    if (k.includes(REPLACEMENT) || v.includes(REPLACEMENT)) inexact.push(`${k}=${v}`);
    else out.push(`${k}=${v}`);
  }
  // Bun's process.env lists a name it decoded lossily with no value: only /proc/self/environ has it
  const raw = fromProcess && (inexact.length || Object.keys(env).length > out.length) ? environ() : undefined;
  if (!raw) return out.concat(inexact);
  const seen = new Set(out.map((e) => e.slice(0, e.indexOf("="))));
  for (const exact of raw) {
    const shown = asBunDecodes(exact);
    const eq = shown.indexOf("=");
    if (eq <= 0 || !shown.includes(REPLACEMENT)) continue;
    const name = shown.slice(0, eq);
    // an entry Bun's process.env holds (or lost: a name it decoded lossily) and no one changed since
    const value = env[name];
    if (value === undefined ? !name.includes(REPLACEMENT) : value !== shown.slice(eq + 1)) continue;
    const exactName = exact.slice(0, exact.indexOf("="));
    if (seen.has(exactName)) continue; // the first of a repeated name, as getenv(3) finds it
    seen.add(exactName);
    out.push(exact);
  }
  // what was not found as it is in environ (set since, by this process): as Bun holds it
  for (const e of inexact) if (!seen.has(e.slice(0, e.indexOf("=")))) out.push(e);
  return out;
}

/** This process's working directory; read from /proc/self/cwd when Bun's shows U+FFFD. */
export function exactCwd(): string {
  const cwd = process.cwd();
  if (!cwd.includes(REPLACEMENT)) return cwd;
  const exact = readCwd(process.pid);
  return exact !== undefined && asBunDecodes(exact) === cwd ? exact : cwd;
}

/** A string for a C call: its exact bytes when it holds raw (non-UTF-8) bytes, else the string. */
export const cBytes = (s: string): string | Uint8Array => (hasRawBytes(s) ? encodeLossless(s) : s);

/** A process's RLIMIT_NOFILE from /proc/PID/limits ("Max open files  SOFT  HARD  files"); undefined when unreadable. */
function nofileOf(pid: string): { soft: number; hard: number } | undefined {
  const t = readFileOrUndefined(`/proc/${pid}/limits`, "latin1");
  const m = t === undefined ? null : /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(t);
  if (!m) return undefined;
  const n = (v: string) => (v === "unlimited" ? Number.POSITIVE_INFINITY : Number(v));
  return { soft: n(m[1]!), hard: n(m[2]!) };
}

/**
 * The soft RLIMIT_NOFILE tracer was started with, when it differs from tracer's own now: Bun raises its
 * soft limit to the hard one (at most 2^20) before any of tracer's code runs and keeps the old value
 * nowhere, and CMD would inherit the raised one (a program that closes every fd up to the limit, or
 * sizes a select() set by it, then behaves differently under tracer than under tini). It is taken from
 * the process that started tracer, whose limits tracer inherited: its soft limit, when the two hard
 * limits match (the pair was inherited) and its soft is below tracer's. Undefined otherwise: CMD then
 * gets tracer's, as before. A parent that exec'd tracer in place of a shell that had lowered its own
 * limit (`sh -c 'ulimit -Sn 512; exec tracer …'`) is not that shell: such a CMD gets the shell's
 * parent's soft limit.
 */
export function startedNofile(): number | undefined {
  const mine = nofileOf("self");
  const parent = nofileOf(String(process.ppid));
  if (!mine || !parent || parent.hard !== mine.hard || !(parent.soft < mine.soft)) return undefined;
  return Number.isFinite(parent.soft) ? parent.soft : undefined;
}
