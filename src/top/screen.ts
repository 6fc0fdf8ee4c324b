/**
 * The full-screen loop of `tracer top` in plain ANSI: the alternate screen, a hidden cursor, stdin in raw
 * mode, a redraw every second and on each key or resize. The terminal is restored on every way out (q,
 * Ctrl-C, SIGTERM, SIGHUP, SIGINT, an error); after a signal the process then ends (see runLive). No
 * terminal library: ink 8 needs React and 23 direct dependencies, blessed and terminal-kit are large
 * too; the screen needs six escape sequences and raw mode.
 *
 * Keys: q / Esc / Ctrl-C quit; ↑/↓ (k/j), PgUp/PgDn, Home/End (g/G) select a step; Enter / → / space
 * expand or collapse it (← collapses); s cycles the sort key (cpu, rss, io, elapsed, name); a expands or
 * collapses every step.
 */
import { write } from "../core/output.ts";
import { SORT_KEYS, type View, render } from "./render.ts";
import type { Snapshot } from "./types.ts";

const ENTER_ALT = "\x1b[?1049h\x1b[?25l";
const LEAVE_ALT = "\x1b[?25h\x1b[?1049l";

export interface LiveOptions {
  poll: () => Snapshot;
  color: boolean;
  /** ms between polls (default 1000) */
  intervalMs?: number;
}

/** The keys in one read from the terminal (several may come at once): escape sequences kept whole. */
export function splitKeys(s: string): string[] {
  const keys: string[] = [];
  const seq = /^\x1b(?:\[[0-9;]*[~A-Za-z]|O[A-Za-z])/;
  for (let i = 0; i < s.length; ) {
    const m = s[i] === "\x1b" ? seq.exec(s.slice(i)) : null;
    const k = m ? m[0] : s[i]!;
    keys.push(k);
    i += k.length;
  }
  return keys;
}

/** The signals that end the live view (after the terminal is restored). */
export const END_SIGNALS = ["SIGTERM", "SIGHUP", "SIGINT"] as const;
export type EndSignal = (typeof END_SIGNALS)[number];

/**
 * Run the live view until the user quits or a signal ends it; resolves then, with the terminal
 * restored and nothing left to keep the event loop alive: undefined for a key (q, Esc, Ctrl-C), else
 * the signal, whose listener is gone (a second one acts as the default: it kills).
 */
export function runLive(opts: LiveOptions): Promise<EndSignal | undefined> {
  const tty = require("node:tty") as typeof import("node:tty");
  // process.stdout's size follows SIGWINCH (a tty.WriteStream of our own keeps its first size under Bun)
  const out = process.stdout;
  // process.stdin, not a tty.ReadStream(0) of our own: destroyed while a read was pending (a signal,
  // not a key, ended the view), Bun's ReadStream still held the event loop, and the process, its
  // terminal restored, sat in epoll_wait until a second SIGTERM killed it. A paused process.stdin
  // holds it no longer.
  const stdin = tty.isatty(0) ? (process.stdin as import("node:tty").ReadStream) : undefined;
  const view: { -readonly [K in keyof View]: View[K] } & { expanded: Set<string> } = {
    sort: "cpu",
    expanded: new Set<string>(),
    width: 80,
    height: 24,
    color: opts.color,
    interactive: true,
  };
  let snap = opts.poll();
  let keys: string[] = [];
  const draw = () => {
    view.width = out.columns || 80;
    view.height = out.rows || 24;
    let screen = render(snap, view);
    keys = screen.keys;
    if (view.selected === undefined || !keys.includes(view.selected)) {
      view.selected = keys[0];
      screen = render(snap, view);
    }
    write(1, `\x1b[H${screen.lines.map((l) => `${l}\x1b[K`).join("\r\n")}\x1b[J`);
  };
  return new Promise<EndSignal | undefined>((resolve, reject) => {
    let timer: ReturnType<typeof setInterval> | undefined;
    let done = false;
    let ended: EndSignal | undefined;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      if (timer) clearInterval(timer);
      process.off("SIGWINCH", redraw);
      for (const sig of END_SIGNALS) process.off(sig, onSignal);
      if (stdin) {
        stdin.off("data", onStdin);
        stdin.setRawMode(false);
        stdin.pause();
      }
      write(1, LEAVE_ALT);
      if (err === undefined) resolve(ended);
      else reject(err);
    };
    const onSignal = (sig: NodeJS.Signals) => {
      ended = sig as EndSignal;
      finish();
    };
    const guarded = (f: () => void) => () => {
      try {
        f();
      } catch (e) {
        finish(e);
      }
    };
    const redraw = guarded(draw);
    const move = (by: number) => {
      if (!keys.length) return;
      const at = view.selected === undefined ? 0 : keys.indexOf(view.selected);
      view.selected = keys[Math.max(0, Math.min(keys.length - 1, at + by))];
    };
    const toggle = (open?: boolean) => {
      const k = view.selected;
      if (k === undefined) return;
      if (open ?? !view.expanded.has(k)) view.expanded.add(k);
      else view.expanded.delete(k);
    };
    const onKey = (k: string) => {
      if (k === "q" || k === "Q" || k === "\x03" || k === "\x1b") return finish();
      if (k === "\x1b[A" || k === "\x1bOA" || k === "k") move(-1);
      else if (k === "\x1b[B" || k === "\x1bOB" || k === "j") move(1);
      else if (k === "\x1b[5~") move(-10);
      else if (k === "\x1b[6~") move(10);
      else if (k === "g" || k === "\x1b[H" || k === "\x1b[1~" || k === "\x1bOH") move(-keys.length);
      else if (k === "G" || k === "\x1b[F" || k === "\x1b[4~" || k === "\x1bOF") move(keys.length);
      else if (k === "\r" || k === " " || k === "e") toggle();
      else if (k === "\x1b[C" || k === "\x1bOC" || k === "+") toggle(true);
      else if (k === "\x1b[D" || k === "\x1bOD" || k === "-") toggle(false);
      else if (k === "s") {
        view.sort = SORT_KEYS[(SORT_KEYS.indexOf(view.sort) + 1) % SORT_KEYS.length]!;
        // keys that follow in the same read move through the new order, not the last drawn one
        keys = render(snap, view).keys;
      } else if (k === "a") {
        if (view.expanded.size) view.expanded.clear();
        else for (const key of keys) view.expanded.add(key);
      }
    };
    const onData = (data: Buffer) => {
      for (const k of splitKeys(data.toString("latin1"))) {
        onKey(k);
        if (done) return;
      }
      draw();
    };
    const onStdin = (d: Buffer) => guarded(() => onData(d))();
    try {
      write(1, ENTER_ALT);
      if (stdin) {
        stdin.setRawMode(true);
        stdin.on("data", onStdin);
        stdin.resume();
      }
      process.on("SIGWINCH", redraw);
      // stdin not a terminal (no raw mode): Ctrl-C arrives as SIGINT
      for (const sig of END_SIGNALS) process.on(sig, onSignal);
      draw();
      timer = setInterval(
        guarded(() => {
          snap = opts.poll();
          draw();
        }),
        opts.intervalMs ?? 1000,
      );
    } catch (e) {
      finish(e);
    }
  });
}
