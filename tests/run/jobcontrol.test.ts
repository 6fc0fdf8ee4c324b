/**
 * Job control in a terminal (an interactive bash in a pty, driven by python3's pty module): Ctrl-Z
 * stops CMD and the init, `fg` resumes both, the job completes, and the recorded durations cover the
 * stop. Side by side with dumb-init --single-child (the same design: CMD shares the init's process
 * group). tini is not in the table: it gives CMD its own group and never stops itself, so after Ctrl-Z
 * the shell keeps waiting for tini and never gets the terminal back.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BIN, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";
import { PY, openDb, start } from "./_helpers.ts";

afterAll(cleanupTemp);

const DRIVER = join(import.meta.dir, "fixtures", "pty_job.py");
const STOP_S = 1.5;
/** CMD: ten 0.1 s sleeps (a sleep's timer runs on while it is stopped: one long sleep would not show) */
const STEPS = 10;

const PEERS = {
  tracer: [BIN, "run", "--quiet", "--"],
  "tracer-poll": ["env", "TRACER_CAPTURE=proc-poll", BIN, "run", "--quiet", "--"],
  "tracer --signal-group": [BIN, "run", "--quiet", "--signal-group", "--"],
  "dumb-init --single-child": ["dumb-init", "--single-child"],
} as const;
type Peer = keyof typeof PEERS;

const hasDumbInit = Bun.spawnSync(["sh", "-c", "command -v dumb-init"]).exitCode === 0;

describe("Ctrl-Z stops CMD and the init; fg resumes both; the job completes", () => {
  test.each(Object.keys(PEERS) as Peer[])(
    "%s",
    async (peer) => {
      if (peer.startsWith("dumb-init") && !hasDumbInit) return console.warn("skipping: no dumb-init");
      const dir = tempDir();
      const env = isolatedEnv();
      const loop = `i=0; while [ $i -lt ${STEPS} ]; do sleep 0.1; i=$((i+1)); done`;
      const cmd = ["sh", "-c", `echo $$ > ${dir}/cmd; ${loop}; echo finished`];
      const r = await start([PY, DRIVER, `${dir}/cmd`, String(STOP_S), ...PEERS[peer], ...cmd], env).done;
      const got = JSON.parse(r.stdout) as { afterCtrlZ: string[]; afterWait: string[]; out: string };
      expect(got.afterCtrlZ).toEqual(["T", "T"]);
      expect(got.afterWait).toEqual(["T", "T"]);
      const out = got.out.replace(/\r/g, "");
      expect(out).toContain("finished\n");
      expect(out).toContain("job-status=0\n");
      if (!peer.startsWith("tracer")) return;
      // the recording survived the stop: the run and CMD's row span it
      const db = openDb(env);
      const run = db.query("SELECT ended_at - started_at AS ms, exit_code AS code FROM runs").get() as {
        ms: number;
        code: number;
      };
      const sh = db.query("SELECT duration_us AS us FROM processes WHERE comm = 'sh'").get() as {
        us: number;
      };
      const sleeps = db
        .query("SELECT count(DISTINCT pid) AS n FROM processes WHERE comm = 'sleep'")
        .get() as {
        n: number;
      };
      db.close();
      expect(run.code).toBe(0);
      // Ctrl-Z came 0.2 s after CMD started: at least 0.5 s of the loop was left after fg
      expect(run.ms).toBeGreaterThanOrEqual(STOP_S * 1000 + 500);
      expect(sh.us).toBeGreaterThanOrEqual((STOP_S + 0.5) * 1e6);
      // with the connector every sleep is recorded; /proc polling (every 50 ms) sees only processes
      // alive at a poll (docs/CAPTURE.md), and a 0.1 s sleep can fall between two polls on a loaded host
      if (peer === "tracer-poll") expect(sleeps.n).toBeGreaterThanOrEqual(STEPS / 2);
      else expect(sleeps.n).toBe(STEPS);
    },
    60_000,
  );
});

describe("a background job that reads the terminal stops (SIGTTIN); fg resumes it and it reads", () => {
  test.each([
    ["tracer", [BIN, "run", "--quiet", "--"]],
    ["tracer --signal-group", [BIN, "run", "--quiet", "--signal-group", "--"]],
  ] as const)(
    "%s",
    async (_n, init) => {
      const dir = tempDir();
      const cmd = ["sh", "-c", `echo $$ > ${dir}/cmd; read x; echo got $x`];
      const r = await start(
        [PY, join(import.meta.dir, "fixtures", "pty_bg_read.py"), `${dir}/cmd`, ...init, ...cmd],
        isolatedEnv(),
      ).done;
      const got = JSON.parse(r.stdout) as { stopped: string[]; out: string };
      expect(got.stopped).toEqual(["T", "T"]);
      expect(got.out.replace(/\r/g, "")).toContain("got hello\n");
    },
    60_000,
  );
});
