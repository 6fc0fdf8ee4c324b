/**
 * The full-screen loop of `tracer top` in plain ANSI: the alternate screen, a hidden cursor, stdin in raw
 * mode (node:tty), a redraw every second and on each key or resize. The terminal is restored on every
 * way out (q, Ctrl-C, SIGTERM, an error). No terminal library: blessed (last release 2015) and ink
 * (React + ~20 packages) cost more start-up than the few escape sequences used here.
 *
 * Keys: q / Ctrl-C quit; ↑/↓ (k/j) select a step; Enter / → / space expand or collapse it (← collapses);
 * s cycles the sort key (cpu, rss, io, elapsed, name); a expands or collapses every step.
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

/** Run the live view until the user quits; resolves then, with the terminal restored. */
export function runLive(opts: LiveOptions): Promise<void> {
  const tty = require("node:tty") as typeof import("node:tty");
  const out = new tty.WriteStream(1);
  const stdin = tty.isatty(0) ? new tty.ReadStream(0) : undefined;
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
    const [w, h] = out.getWindowSize?.() ?? [80, 24];
    view.width = w || 80;
    view.height = h || 24;
    let screen = render(snap, view);
    keys = screen.keys;
    if (view.selected === undefined || !keys.includes(view.selected)) {
      view.selected = keys[0];
      screen = render(snap, view);
    }
    write(1, `\x1b[H${screen.lines.map((l) => `${l}\x1b[K`).join("\r\n")}\x1b[J`);
  };
  return new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setInterval> | undefined;
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      if (timer) clearInterval(timer);
      process.off("SIGWINCH", redraw);
      process.off("SIGTERM", quit);
      process.off("SIGHUP", quit);
      if (stdin) {
        stdin.setRawMode(false);
        stdin.pause();
        stdin.destroy();
      }
      write(1, LEAVE_ALT);
      if (err === undefined) resolve();
      else reject(err);
    };
    const quit = () => finish();
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
    const onKey = (data: Buffer) => {
      const s = data.toString("latin1");
      if (s === "q" || s === "Q" || s === "\x03" || s === "\x1b") return finish();
      if (s === "\x1b[A" || s === "k") move(-1);
      else if (s === "\x1b[B" || s === "j") move(1);
      else if (s === "\x1b[5~") move(-10);
      else if (s === "\x1b[6~") move(10);
      else if (s === "\r" || s === " " || s === "e") toggle();
      else if (s === "\x1b[C" || s === "+") toggle(true);
      else if (s === "\x1b[D" || s === "-") toggle(false);
      else if (s === "s") view.sort = SORT_KEYS[(SORT_KEYS.indexOf(view.sort) + 1) % SORT_KEYS.length]!;
      else if (s === "a") {
        if (view.expanded.size) view.expanded.clear();
        else for (const k of keys) view.expanded.add(k);
      } else return;
      draw();
    };
    try {
      write(1, ENTER_ALT);
      if (stdin) {
        stdin.setRawMode(true);
        stdin.on("data", (d: Buffer) => guarded(() => onKey(d))());
        stdin.resume();
      }
      process.on("SIGWINCH", redraw);
      process.on("SIGTERM", quit);
      process.on("SIGHUP", quit);
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
