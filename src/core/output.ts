/**
 * Output for the CLI: stdout for results, stderr for diagnostics. Colour only on a terminal, never
 * with NO_COLOR set (non-empty) or TERM=dumb; the global `--color always|never` overrides both (setColor).
 *
 * Written with plain write(2) (fs.writeSync) rather than process.stdout/stderr: the first touch of
 * those streams loads Node's whole stream machinery, which measured 4–14 ms of a 17 ms command start.
 * A reader of stdout that goes away (`tracer report | head`) ends the process quietly (EPIPE) with
 * the exit status the command has settled on (commands whose status depends on their result — a
 * gate, a check — settle it before they print); a reader of stderr that goes away only loses the
 * diagnostics: the command (a recording) goes on and keeps its status. A non-blocking descriptor
 * inherited from the caller is waited on (EAGAIN), so no output is lost.
 */
import { fstatSync, writeSync } from "../../ffi/fs.ts";
import { jsonText } from "./json.ts";

export type Fd = 1 | 2;

/** strings longer than this are encoded and written a slice at a time (a 30 MB report needs no 30 MB copy) */
const SLICE = 1 << 20;

/** stderr once its reader went away (EPIPE): further diagnostics are dropped */
let stderrGone = false;

export function write(fd: Fd, text: string | Uint8Array) {
  if (fd === 2 && stderrGone) return;
  if (typeof text === "string" && text.length > SLICE) {
    for (let at = 0; at < text.length; ) {
      let end = Math.min(at + SLICE, text.length);
      // never split a surrogate pair
      if (end < text.length && (text.charCodeAt(end - 1) & 0xfc00) === 0xd800) end--;
      write(fd, text.slice(at, end));
      at = end;
    }
    return;
  }
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  for (let off = 0; off < bytes.length; ) {
    try {
      off += writeSync(fd, bytes, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") Bun.sleepSync(1);
      else if (code !== "EPIPE") throw e;
      else if (fd === 1) process.exit(process.exitCode ?? 0);
      else {
        stderrGone = true;
        return;
      }
    }
  }
}

const ttys = new Map<Fd, boolean>();

/** Is `fd` a terminal? Pipes and files (the common scripted case) are told apart with one fstat. */
export function isTty(fd: Fd): boolean {
  let known = ttys.get(fd);
  if (known === undefined) {
    try {
      known = fstatSync(fd).isCharacterDevice() && require("node:tty").isatty(fd) === true;
    } catch {
      known = false;
    }
    ttys.set(fd, known);
  }
  return known;
}

export type ColorMode = "auto" | "always" | "never";
let colorMode: ColorMode = "auto";
/** `--color`: always / never override the terminal test and NO_COLOR; auto (the default) applies them. */
export const setColor = (mode: ColorMode) => {
  colorMode = mode;
};

/** Should text for `fd` carry colour codes? */
export const useColor = (fd: Fd) =>
  colorMode === "auto"
    ? !process.env.NO_COLOR && process.env.TERM !== "dumb" && isTty(fd)
    : colorMode === "always";

const wrap =
  (code: number) =>
  (s: string, fd: Fd = 2) =>
    useColor(fd) ? `\x1b[${code}m${s}\x1b[0m` : s;

const SGR = /\x1b\[[0-9;]*m/g;
/** `s` without colour codes (SGR sequences). */
export const plain = (s: string) => s.replace(SGR, "");
/** Text that may carry colour codes (a library's), made plain when `fd` should get no colour. */
export const forFd = (s: string, fd: Fd) => (useColor(fd) ? s : plain(s));

export const red = wrap(31);
export const green = wrap(32);
export const yellow = wrap(33);
export const dim = wrap(2);
export const bold = wrap(1);

/** `value` as indented JSON on stdout, terminal-safe (src/core/json.ts). */
export const printJson = (value: unknown) => write(1, `${jsonText(value)}\n`);
export const say = (line: string) => write(1, `${line}\n`);
export const note = (line: string) => write(2, `${line}\n`);

/** An elapsed time for a person: `46ms`, `9.5s`, `1m05s`, `3h07m`, `2d4h` (floored, never rounded up). */
export function formatDuration(ms: number): string {
  // below 10 s the whole seconds alone said "done in 0s" for a 46 ms run
  if (ms < 1000) return `${Math.max(0, Math.floor(ms))}ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h${String(m % 60).padStart(2, "0")}m` : `${Math.floor(h / 24)}d${h % 24}h`;
}
