/**
 * ffi/init.c: `tracer run`'s signal forwarding (a sigaction handler that forwards with kill(2)) and the
 * fork → exec of CMD (process group, terminal, parent-death signal), compiled by TinyCC via ./_cc.ts.
 */
import { ptr } from "bun:ffi";
import { embeddedC } from "./_cc.ts";
import { embeddedText } from "./_text.ts" with { type: "macro" };

/** the C source (TinyCC compiles it where the binary carries no prebuilt object: ./_cc.ts) */
const initSource = embeddedText("init.c");

const symbols = {
  tracer_init_install: { args: ["ptr", "i32"], returns: "i32" },
  tracer_init_sigrtmin: { args: [], returns: "i32" },
  tracer_init_sigrtmax: { args: [], returns: "i32" },
  tracer_init_spawn: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "i32"], returns: "i32" },
  tracer_init_cmd_exited: { args: [], returns: "i32" },
  tracer_init_done: { args: [], returns: "void" },
  tracer_init_stop_signal: { args: [], returns: "i32" },
  tracer_init_late_stop: { args: [], returns: "i32" },
  tracer_init_nofile: { args: ["f64"], returns: "void" },
  tracer_init_chld_pipe: { args: [], returns: "i32" },
  tracer_init_notify_fd: { args: [], returns: "i32" },
} as const;

const load = embeddedC("init.c", initSource, symbols, "the native init helper");

/** The real-time signal range of this C library (glibc: 34..64; SIGRTMIN-2.. are its own). */
export function realtimeRange(): { min: number; max: number } {
  const n = load();
  return { min: n.tracer_init_sigrtmin(), max: n.tracer_init_sigrtmax() };
}

/**
 * Install the forwarding handler for `signals` (and SIGCHLD) process-wide. Returns the read end of a
 * non-blocking pipe that receives one byte (the signal number) per signal handled; throws on failure.
 * `group`: CMD will run in its own process group (and get the terminal if tracer has it).
 */
export function installForwarding(signals: number[], group: boolean): number {
  const list = new Int32Array([...signals, 0]);
  const fd = load().tracer_init_install(ptr(list), group ? 1 : 0);
  if (fd < 0) throw new Error(`cannot install signal handlers (errno ${-fd})`);
  return fd;
}

/** A C string: a JS string as UTF-8, or given bytes as they are; NUL-terminated. */
const cString = (s: string | Uint8Array) =>
  typeof s === "string" ? Buffer.from(`${s}\0`, "utf8") : Buffer.concat([s, NUL]);
const NUL = new Uint8Array(1);

// (loops, not map/forEach: on `tracer run`'s path each Array builtin's first use costs ~0.03–0.15 ms)
function cStringArray(items: (string | Uint8Array)[]) {
  const bufs: Buffer[] = [];
  const table = new BigUint64Array(items.length + 1);
  for (let i = 0; i < items.length; i++) {
    const b = cString(items[i]!);
    bufs.push(b);
    table[i] = BigInt(ptr(b));
  }
  return { bufs, table };
}

/** A C string argument: a JS string (sent as UTF-8) or the exact bytes to send. */
export type CArg = string | Uint8Array;

/**
 * Start CMD: `path` is what to exec (already searched in PATH), `argv` its arguments (argv[0] as the
 * user typed it), `environ` its environment as KEY=VALUE entries. `cwd` undefined: tracer's own.
 * Returns CMD's pid, or -errno when it could not be executed (the failed child is already reaped).
 */
export function spawnCmd(
  path: CArg,
  argv: CArg[],
  environ: CArg[],
  cwd: CArg | undefined,
  pdeathsig: number,
): number {
  const p = cString(path);
  const a = cStringArray(argv);
  const sh = cStringArray(["sh", path, ...argv.slice(1)]);
  const e = cStringArray(environ);
  const c = cwd === undefined ? undefined : cString(cwd);
  const pid = load().tracer_init_spawn(
    ptr(p),
    ptr(a.table),
    ptr(e.table),
    c ? ptr(c) : null,
    ptr(sh.table),
    pdeathsig,
  );
  // keep the buffers reachable until after the call
  void [p.length, a.bufs.length, sh.bufs.length, e.bufs.length, c?.length];
  return pid;
}

/** CMD's pid once it has exited (still a zombie: reap it with wait4), else 0. Forwarding stops then. */
export const cmdExited = (): number => load().tracer_init_cmd_exited();

/**
 * The first SIGHUP, SIGINT, SIGQUIT or SIGTERM that reached tracer from outside (a terminal's ^C, a
 * batch scheduler's or a user's kill) before CMD ended: the run was asked to stop. 0: none.
 */
export const stopSignal = (): number => load().tracer_init_stop_signal();

/** The same (stopSignal), arrived after CMD ended: while tracer waits for what CMD left running. 0: none. */
export const lateStopSignal = (): number => load().tracer_init_late_stop();

/** The soft RLIMIT_NOFILE CMD is to get (it must not inherit the one the runtime raised); -1: tracer's. */
export const setCmdNofile = (soft: number): void => load().tracer_init_nofile(soft);

/** Stop forwarding: signals are absorbed from now on. */
export const forwardingDone = (): void => load().tracer_init_done();

/**
 * The orphan reaper's wake-up: the read end of a non-blocking pipe that gets a byte on every SIGCHLD
 * (after installForwarding), and the JS side's wake-up pipe's write end for the reaper to write to.
 * Undefined when the pipe cannot be made.
 */
export function reaperPipes(): { chld: number; notify: number } | undefined {
  const n = load();
  const chld = n.tracer_init_chld_pipe();
  const notify = n.tracer_init_notify_fd();
  return chld < 0 || notify < 0 ? undefined : { chld, notify };
}
