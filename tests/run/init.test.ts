/**
 * `tracer run` as a complete init: --signal-group ends the whole job, --kill-leftovers ends what is left
 * when CMD exits (ends recorded), --pdeathsig tells CMD when tracer dies, and tracer leaves the caller's
 * directory while CMD runs in it. Side by side with tini 0.19 where tini has the same option.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { BIN, cleanupTemp, isolatedEnv, tempDir, waitFor } from "../helpers/harness.ts";
import { openDb, start } from "./_helpers.ts";

afterAll(cleanupTemp);

/** running, stopped or sleeping — not a zombie and not gone */
const alive = (pid: number) => {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, "latin1");
    return t[t.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
};
const children = (pid: number) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, "latin1").split(" ").filter(Boolean).map(Number);
const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, "latin1").trim();
const readPid = (f: string) => Number(readFileSync(f, "utf8"));

/** Start `argv` around bash -c 'sleep 30; echo x'; the pids of bash and its sleep once both run. */
async function bashSleepTree(argv: (cmd: string[]) => string[]) {
  const dir = tempDir();
  // output to a file: a surviving sleep must not hold a pipe the test waits on
  const s = Bun.spawn(argv(["bash", "-c", `echo $$ > ${dir}/bash; sleep 30; echo x >> ${dir}/out`]), {
    env: isolatedEnv(),
    stdio: ["ignore", "ignore", "ignore"],
  });
  await waitFor(
    () => existsSync(`${dir}/bash`) && readFileSync(`${dir}/bash`, "utf8") !== "",
    10_000,
    "bash",
  );
  const bash = readPid(`${dir}/bash`);
  let sleep = 0;
  await waitFor(
    () => {
      sleep = children(bash).find((c) => comm(c) === "sleep") ?? 0;
      return sleep > 0;
    },
    10_000,
    "sleep under bash",
  );
  return { s, bash, sleep };
}

describe("kill -TERM <init> on bash -c 'sleep 30; echo x'", () => {
  test.each([
    ["tracer --signal-group", (c: string[]) => [BIN, "run", "--quiet", "--signal-group", "--", ...c]],
    ["tini -g", (c: string[]) => ["tini", "-s", "-g", "--", ...c]],
  ] as const)("%s: the whole job ends, no survivor", async (_n, argv) => {
    const { s, bash, sleep } = await bashSleepTree(argv);
    s.kill("SIGTERM");
    expect(await s.exited).toBe(143);
    await waitFor(() => !alive(bash) && !alive(sleep), 5000, "bash and sleep to end");
  });

  test.each([
    ["tracer", (c: string[]) => [BIN, "run", "--quiet", "--", ...c]],
    ["tini", (c: string[]) => ["tini", "-s", "--", ...c]],
  ] as const)("%s (no group option): only bash gets it; sleep survives, as with tini", async (_n, argv) => {
    const { s, bash, sleep } = await bashSleepTree(argv);
    s.kill("SIGTERM");
    const code = await s.exited;
    try {
      expect(code).toBe(143);
      await waitFor(() => !alive(bash), 5000, "bash to end");
      expect(alive(sleep)).toBe(true);
    } finally {
      process.kill(sleep, "SIGKILL");
    }
  });
});

test("--kill-leftovers: SIGTERM, then SIGKILL after --grace, for what CMD left running; ends recorded", async () => {
  const dir = tempDir();
  const env = isolatedEnv();
  // one leftover ends on SIGTERM, the other ignores it and needs the SIGKILL
  // (CMD exits only once the second one ignores SIGTERM: tracer acts the moment CMD has exited)
  const script =
    `sleep 30 & echo $! > ${dir}/a; sh -c 'trap "" TERM; echo $$ > ${dir}/b; exec sleep 31' & ` +
    `while [ ! -s ${dir}/b ]; do sleep 0.01; done; exit 5`;
  const t0 = Date.now();
  const r = await start([BIN, "run", "--kill-leftovers", "--grace", "1", "--", "sh", "-c", script], env).done;
  const took = Date.now() - t0;
  expect(r.code).toBe(5);
  expect(r.stderr).not.toContain("still running"); // ended by tracer: recorded to their end
  // the closing lines say what it stopped: a and b got SIGTERM, b (which ignores it) the SIGKILL
  expect(r.stderr).toContain(
    "tracer: --kill-leftovers: CMD left 2 processes running; SIGTERM to 2, SIGKILL after the grace to 1\n",
  );
  const [a, b] = [readPid(`${dir}/a`), readPid(`${dir}/b`)];
  expect(alive(a)).toBe(false);
  expect(alive(b)).toBe(false);
  expect(took).toBeGreaterThanOrEqual(1000); // b outlived the grace period
  const db = openDb(env);
  const rows = db
    .query(
      "SELECT DISTINCT pid, signal, ended_at IS NOT NULL AS ended FROM processes WHERE pid IN (?, ?) ORDER BY pid = ?",
    )
    .all(a, b, b) as { pid: number; signal: number | null; ended: number }[];
  db.close();
  // DISTINCT: one process can still be stored twice (issue 12, identity); both rows must agree
  expect(rows.map((x) => [x.pid, x.signal, x.ended])).toEqual([
    [a, 15, 1],
    [b, 9, 1],
  ]);
});

/** `sh -c` (its pid in dir/cmd) leaving one leftover that ignores SIGTERM (its pid in dir/b), exiting 0 once it runs */
const stubbornLeftover = (dir: string) =>
  `echo $$ > ${dir}/cmd; sh -c 'trap "" TERM; echo $$ > ${dir}/b; exec sleep 60' & ` +
  `while [ ! -s ${dir}/b ]; do sleep 0.01; done; exit 0`;

test("--kill-leftovers with a grace longer than the recorder keeps an ended process: CMD is still one row", async () => {
  // the recorder forgets an ended process's record ~5 s after its end; CMD's reap used to reach it only
  // after the grace, and made a second row of CMD from wait4 alone ("1 process recovered")
  const dir = tempDir();
  const env = isolatedEnv();
  const r = await start(
    [BIN, "run", "--kill-leftovers", "--grace", "7", "--", "sh", "-c", stubbornLeftover(dir)],
    env,
  ).done;
  expect(r.code).toBe(0);
  const db = openDb(env);
  const run = db.query("SELECT id, recovered FROM runs").get() as { id: string; recovered: number };
  const cmdRows = db
    .query("SELECT count(*) AS n FROM processes WHERE run_id = ? AND parent_id IS NULL")
    .get(run.id) as { n: number };
  const b = db.query("SELECT signal FROM processes WHERE pid = ?").all(readPid(`${dir}/b`)) as {
    signal: number | null;
  }[];
  db.close();
  expect(cmdRows.n).toBe(1);
  expect(run.recovered).toBe(0);
  expect(b).toEqual([{ signal: 9 }]); // it outlived the grace: SIGKILL
}, 60_000);

test("--kill-leftovers: a stop signal during the grace ends it (SIGKILL now, not after --grace 120)", async () => {
  const dir = tempDir();
  const env = isolatedEnv();
  const s = start(
    [BIN, "run", "--kill-leftovers", "--grace", "120", "--", "sh", "-c", stubbornLeftover(dir)],
    env,
  );
  await waitFor(() => existsSync(`${dir}/b`) && readFileSync(`${dir}/b`, "utf8") !== "", 20_000, "leftover");
  const b = readPid(`${dir}/b`);
  // once CMD has exited (reaped: tracer has sent the leftover its SIGTERM, ignored), ask tracer to stop
  await waitFor(() => !existsSync(`/proc/${readPid(`${dir}/cmd`)}`), 20_000, "CMD reaped");
  s.proc.kill("SIGTERM");
  const r = await s.done;
  expect(r.code).toBe(0); // CMD's status, as ever
  expect(alive(b)).toBe(false);
  const db = openDb(env);
  const row = db.query("SELECT signal, ended_at - started_at AS ms FROM processes WHERE pid = ?").get(b) as {
    signal: number | null;
    ms: number;
  };
  db.close();
  expect(row.signal).toBe(9);
  expect(row.ms).toBeLessThan(60_000); // far below the 120 s grace: the stop request ended it
}, 60_000);

test("without --kill-leftovers a background process outlives tracer (tini's behaviour), and the end says so", async () => {
  const dir = tempDir();
  // (the leftover must not hold tracer's stderr pipe open: read to its end here)
  const p = Bun.spawn([BIN, "run", "--", "sh", "-c", `sleep 30 2>/dev/null & echo $! > ${dir}/a`], {
    env: isolatedEnv(),
    stdio: ["ignore", "ignore", "pipe"],
  });
  const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr as ReadableStream).text()]);
  const a = readPid(`${dir}/a`);
  try {
    expect(code).toBe(0);
    expect(alive(a)).toBe(true);
    expect(stderr).toContain(
      "tracer: 1 process of the run still running when it ended, no longer recorded (tracer run --kill-leftovers stops them)",
    );
  } finally {
    process.kill(a, "SIGKILL");
  }
});

// tini's -p is the same prctl for tini itself (tini is told when its parent dies); nothing to compare
describe("--pdeathsig: CMD is told when tracer dies", () => {
  test.each([
    ["--pdeathsig TERM", ["--pdeathsig", "TERM"], false],
    ["--pdeathsig 10", ["--pdeathsig", "10"], false],
    ["none", [], true],
  ] as const)("%s", async (_n, flags, survives) => {
    const dir = tempDir();
    const s = Bun.spawn(
      [BIN, "run", "--quiet", ...flags, "--", "sh", "-c", `echo $$ > ${dir}/cmd; exec sleep 30`],
      {
        env: isolatedEnv(),
        stdio: ["ignore", "ignore", "ignore"],
      },
    );
    await waitFor(() => existsSync(`${dir}/cmd`) && readFileSync(`${dir}/cmd`, "utf8") !== "", 10_000, "CMD");
    const cmd = readPid(`${dir}/cmd`);
    await waitFor(() => comm(cmd) === "sleep", 5000, "the exec of sleep");
    s.kill("SIGKILL");
    await s.exited;
    try {
      if (survives) {
        await Bun.sleep(300);
        expect(alive(cmd)).toBe(true);
      } else await waitFor(() => !alive(cmd), 5000, "CMD to get the parent-death signal");
    } finally {
      if (alive(cmd)) process.kill(cmd, "SIGKILL");
    }
  });
});

test("tracer's cwd is / while CMD runs in the caller's directory (which the run records)", async () => {
  const dir = tempDir();
  const env = isolatedEnv();
  const proc = Bun.spawn([BIN, "run", "--quiet", "--", "sh", "-c", `pwd > ${dir}/pwd; sleep 30`], {
    cwd: dir,
    env,
    stdio: ["ignore", "ignore", "ignore"],
  });
  await waitFor(() => existsSync(`${dir}/pwd`) && readFileSync(`${dir}/pwd`, "utf8") !== "", 10_000, "CMD");
  // tracer leaves right after the spawn: CMD may have written its pwd a moment before
  await waitFor(() => readlinkSync(`/proc/${proc.pid}/cwd`) === "/", 5000, "tracer's cwd to be /");
  expect(readFileSync(`${dir}/pwd`, "utf8")).toBe(`${dir}\n`);
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(143);
  const db = openDb(env);
  const run = db.query("SELECT cwd FROM runs").get() as { cwd: string };
  db.close();
  expect(run.cwd).toBe(dir);
});

test("CMD gets the caller's ignored signals (nohup), and SIGPIPE/SIGXFSZ at their defaults, as with tini", async () => {
  const show = ["sh", "-c", "grep SigIgn /proc/self/status"];
  const under = (init: string[]) =>
    start(["sh", "-c", `trap '' HUP; exec "$@"`, "sh", ...init, ...show]).done.then((r) => r.stdout.trim());
  const mask = (line: string) => BigInt(`0x${line.split(/\s+/)[1]}`);
  const tracer = await under([BIN, "run", "--quiet", "--"]);
  const tini = await under(["tini", "-s", "--"]);
  expect(mask(tracer) & 1n).toBe(1n); // SIGHUP ignored
  expect(mask(tracer) & ((1n << 12n) | (1n << 24n))).toBe(0n); // SIGPIPE, SIGXFSZ default
  expect(tracer).toBe(tini);
});
