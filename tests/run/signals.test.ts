/**
 * `tracer run` forwards every signal an init can forward, side by side with Debian's tini 0.19 and
 * dumb-init 1.2.5. A child traps every catchable signal and logs each one; the test sends each signal
 * to the init and counts what the child logged.
 *
 * Where the peers differ (asserted below, so a change in any of them shows):
 * - tini ignores SIGTTIN and SIGTTOU (never forwarded) and never stops itself.
 * - dumb-init (default: CMD in a new session) answers SIGTSTP/SIGTTIN/SIGTTOU by sending SIGSTOP to
 *   CMD's group and stopping itself: the child never sees the three signals.
 * - tracer forwards them, then stops itself (dumb-init's --single-child behaviour). The SIGCONT that
 *   resumes it is not forwarded again when CMD is not stopped: in a terminal, that SIGCONT came from
 *   the shell to the whole job (fg/bg), which CMD shares. tini and dumb-init forward it every time;
 *   with --signal-group (CMD in a group of its own) tracer does too.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTemp, isolatedEnv, tempDir, waitFor } from "../helpers/harness.ts";
import { PY, openDb, start } from "./_helpers.ts";

afterAll(cleanupTemp);

const TRAP_ALL = join(import.meta.dir, "fixtures", "trap_all.py");
/** glibc's SIGRTMIN (32 and 33 belong to its threads) */
const RTMIN = 34;
const STD: [string, number][] = [
  ["SIGHUP", 1],
  ["SIGINT", 2],
  ["SIGQUIT", 3],
  ["SIGUSR1", 10],
  ["SIGUSR2", 12],
  ["SIGPIPE", 13],
  ["SIGALRM", 14],
  ["SIGTERM", 15],
  ["SIGSTKFLT", 16],
  ["SIGCONT", 18],
  ["SIGTSTP", 20],
  ["SIGTTIN", 21],
  ["SIGTTOU", 22],
  ["SIGURG", 23],
  ["SIGXCPU", 24],
  ["SIGXFSZ", 25],
  ["SIGVTALRM", 26],
  ["SIGPROF", 27],
  ["SIGWINCH", 28],
  ["SIGIO", 29],
  ["SIGPWR", 30],
];
const SENT: [string, number][] = [
  ...STD,
  ...[0, 1, 2, 3].map((k) => [`SIGRTMIN+${k}`, RTMIN + k] as [string, number]),
];
const JOB_STOP = new Set(["SIGTSTP", "SIGTTIN", "SIGTTOU"]);

const PEERS = {
  tracer: (c: string[]) => [BIN, "run", "--quiet", "--", ...c],
  "tracer-poll": (c: string[]) => ["env", "TRACER_CAPTURE=proc-poll", BIN, "run", "--quiet", "--", ...c],
  "tracer --signal-group": (c: string[]) => [BIN, "run", "--quiet", "--signal-group", "--", ...c],
  tini: (c: string[]) => ["tini", "-s", "--", ...c],
  "dumb-init": (c: string[]) => ["dumb-init", ...c],
} as const;
type Peer = keyof typeof PEERS;

const state = (pid: number) => {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, "latin1");
    return t[t.lastIndexOf(")") + 2];
  } catch {
    return undefined;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean, ms: number) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) if (f()) return true;
  return f();
}

/** Send every signal of SENT to the init; what the child logged, how often, and when the init stopped. */
async function table(peer: Peer) {
  const dir = tempDir();
  const out = join(dir, "got");
  const env = isolatedEnv();
  const s = start(PEERS[peer]([PY, TRAP_ALL, out]), env);
  await waitFor(() => existsSync(`${out}.ready`), 10_000, "the child to trap every signal");
  const logged = () => (existsSync(out) ? readFileSync(out, "utf8").split("\n").filter(Boolean) : []);
  const stoppedOn: string[] = [];
  for (const [name, n] of SENT) {
    const before = logged().length;
    process.kill(s.proc.pid, n);
    // a forwarded signal shows within milliseconds; one not forwarded never does
    await until(() => logged().length > before, JOB_STOP.has(name) ? 500 : 1000);
    if (JOB_STOP.has(name)) {
      if (await until(() => state(s.proc.pid) === "T", 500)) stoppedOn.push(name);
      process.kill(s.proc.pid, "SIGCONT");
      await until(() => state(s.proc.pid) !== "T", 2000);
      await sleep(300); // a forwarded SIGCONT lands before the next signal is sent
    }
  }
  const alive = state(s.proc.pid);
  writeFileSync(`${out}.stop`, "");
  const r = await s.done;
  const counts: Record<string, number> = {};
  for (const l of logged()) counts[l] = (counts[l] ?? 0) + 1;
  return { counts, stoppedOn, alive, code: r.code, env };
}

const once = (except: Record<string, number> = {}) =>
  Object.fromEntries(SENT.map(([name]) => [name, except[name] ?? 1]).filter(([, n]) => n !== 0));

const EXPECTED: Record<Peer, { counts: Record<string, number>; stoppedOn: string[] }> = {
  tracer: { counts: once(), stoppedOn: ["SIGTSTP", "SIGTTIN", "SIGTTOU"] },
  "tracer-poll": { counts: once(), stoppedOn: ["SIGTSTP", "SIGTTIN", "SIGTTOU"] },
  "tracer --signal-group": { counts: once({ SIGCONT: 4 }), stoppedOn: ["SIGTSTP", "SIGTTIN", "SIGTTOU"] },
  tini: { counts: once({ SIGCONT: 4, SIGTTIN: 0, SIGTTOU: 0 }), stoppedOn: [] },
  "dumb-init": {
    counts: once({ SIGCONT: 4, SIGTSTP: 0, SIGTTIN: 0, SIGTTOU: 0 }),
    stoppedOn: ["SIGTSTP", "SIGTTIN", "SIGTTOU"],
  },
};

const hasDumbInit = Bun.spawnSync(["sh", "-c", "command -v dumb-init"]).exitCode === 0;
if (!hasDumbInit) console.warn("skipping dumb-init: not installed (scripts/setup-system.sh installs it)");

describe("every forwardable signal 1–31 and SIGRTMIN..SIGRTMIN+3 reaches the child", () => {
  test.each(Object.keys(PEERS) as Peer[])(
    "%s",
    async (peer) => {
      if (peer === "dumb-init" && !hasDumbInit) return;
      const t = await table(peer);
      expect(t.counts).toEqual(EXPECTED[peer].counts);
      expect(t.stoppedOn).toEqual(EXPECTED[peer].stoppedOn);
      expect(t.alive).toBeOneOf(["S", "R"]);
      expect(t.code).toBe(42);
      if (peer.startsWith("tracer")) {
        const db = openDb(t.env);
        const run = db.query("SELECT exit_code AS code, signal FROM runs").get() as {
          code: number;
          signal: null;
        };
        db.close();
        expect(run).toEqual({ code: 42, signal: null });
      }
    },
    60_000,
  );
});
