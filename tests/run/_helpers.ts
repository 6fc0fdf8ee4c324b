/** Helpers for the `tracer run` tests: start tracer or tini around a command, find zombies, read the store. */
import { Database } from "bun:sqlite";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { BIN, isolatedEnv } from "../helpers/harness.ts";

export const PY = "/usr/bin/python3";

/** The two inits under comparison. tini needs -s (subreaper) when it is not PID 1. */
export const INITS = {
  tracer: (cmd: string[]) => [BIN, "run", "--quiet", "--", ...cmd],
  /** the degraded mode (env execs, so the pid is tracer's) */
  "tracer-poll": (cmd: string[]) => ["env", "TRACER_CAPTURE=proc-poll", BIN, "run", "--quiet", "--", ...cmd],
  tini: (cmd: string[]) => ["tini", "-s", "--", ...cmd],
} as const;
export type InitName = keyof typeof INITS;

export interface Started {
  proc: ReturnType<typeof Bun.spawn>;
  env: Record<string, string>;
  done: Promise<{ code: number; stdout: string; stderr: string }>;
}

export function start(argv: string[], env = isolatedEnv()): Started {
  const proc = Bun.spawn(argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const done = Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]).then(([stdout, stderr, code]) => ({ code, stdout, stderr }));
  return { proc, env, done };
}

/** Zombie children of `ppid` right now. */
export function zombiesOf(ppid: number): number[] {
  const out: number[] = [];
  for (const n of readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const t = readFileSync(`/proc/${n}/stat`, "latin1");
      const f = t.slice(t.lastIndexOf(")") + 2).split(" ");
      if (f[0] === "Z" && Number(f[1]) === ppid) out.push(Number(n));
    } catch {}
  }
  return out;
}

export function openDb(env: Record<string, string>): Database {
  return new Database(join(env.TRACER_STATE_DIR!, "tracer.db"), { readonly: true });
}
