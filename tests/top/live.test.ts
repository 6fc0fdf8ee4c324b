/**
 * `tracer top` on a real terminal (tmux: a pty of 120×40) while a 10-step run goes on: each step blocks
 * on a FIFO until the test releases it, so the screen must show step 1 running, then step 2, … then the
 * finished run; `q` exits 0. Beside it: `tracer top` into a pipe prints one snapshot and exits 0, and a
 * daemon run is shown the same way.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stopDaemon } from "../helpers/daemon.ts";
import { BIN, cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir, waitFor } from "../helpers/harness.ts";

const hasTmux = Bun.spawnSync(["sh", "-c", "command -v tmux"]).exitCode === 0;
if (!hasTmux)
  console.warn("skipping the tmux test: tmux is not installed (scripts/setup-system.sh installs it)");

beforeAll(ensureBuilt);
afterAll(cleanupTemp);

const STEPS = 10;
const stepName = (i: number) => `step-${String(i).padStart(2, "0")}.sh`;

/** a pipeline of 10 bash scripts, each blocked reading a FIFO until released */
function fifoPipeline(dir: string) {
  const fifo = join(dir, "release");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  // a step that opens the FIFO while the last release's writer still holds it open reads EOF: it waits
  // again, so only a line released for it ends it
  for (let i = 1; i <= STEPS; i++)
    writeFileSync(join(dir, stepName(i)), 'until read -r line < "$1"; do :; done\n');
  const calls = Array.from({ length: STEPS }, (_, i) => `bash ${stepName(i + 1)} "$1"\n`).join("");
  writeFileSync(join(dir, "pipeline.sh"), calls);
  return fifo;
}

/**
 * Release every step still waiting: one writer holds the FIFO open and writes a line every 50 ms (the
 * pipe keeps lines while it is open, so none is lost between two steps), until the run has ended.
 */
async function releaseAll(fifo: string, recording: { exited: Promise<number> }): Promise<number> {
  const writer = Bun.spawn(["sh", "-c", 'while :; do echo go; sleep 0.05; done > "$1"', "sh", fifo], {
    stdio: ["ignore", "ignore", "ignore"],
  });
  try {
    return await Promise.race([recording.exited, Bun.sleep(30_000).then(() => -1)]);
  } finally {
    writer.kill();
  }
}

/** write one line into the FIFO (blocks until the step reading it has opened it; bounded) */
function release(fifo: string) {
  const r = Bun.spawnSync(["timeout", "20", "sh", "-c", 'echo go > "$1"', "sh", fifo]);
  expect(r.exitCode).toBe(0);
}

test.skipIf(!hasTmux)(
  "top on a terminal shows each running step of a 10-step run, then the finished run; q exits 0",
  async () => {
    const env = isolatedEnv();
    const dir = tempDir();
    const fifo = fifoPipeline(dir);
    const recording = Bun.spawn([BIN, "run", "--name", "fifo-run", "--", "bash", "pipeline.sh", fifo], {
      env,
      cwd: dir,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const sock = join(dir, "tmux.sock");
    const tmux = (...args: string[]) => Bun.spawnSync(["tmux", "-S", sock, ...args], { env });
    const screen = () => tmux("capture-pane", "-p").stdout.toString();
    const rc = join(dir, "top.rc");
    try {
      await waitFor(
        async () => (await run(["runs", "--json"], { env })).stdout.includes("fifo-run"),
        15000,
        "the run to be recorded",
      );
      const vars = ["TRACER_STATE_DIR", "TRACER_RUNTIME_DIR", "NO_COLOR"].map((k) => `${k}='${env[k]}'`);
      const cmd = `env ${vars.join(" ")} '${BIN}' top; echo $? > '${rc}'`;
      expect(tmux("new-session", "-d", "-x", "120", "-y", "40", cmd).exitCode).toBe(0);
      for (let i = 1; i <= STEPS; i++) {
        const running = new RegExp(`${stepName(i).replace(".", "\\.")}\\s+running`);
        await waitFor(() => running.test(screen()), 20000, `${stepName(i)} shown running`).catch((e) => {
          throw new Error(`${(e as Error).message}; the screen:\n${screen()}`);
        });
        // the previous step is shown done (it ended when it was released): its end can be written a flush
        // after the next step's start (an ended process waits for its exit figures, src/observe/_tracks.ts
        // SETTLE_MS; once in CI step 4 showed running beside step 3 still running)
        if (i > 1) {
          const done = new RegExp(`${stepName(i - 1).replace(".", "\\.")}\\s+done`);
          await waitFor(() => done.test(screen()), 20000, `${stepName(i - 1)} shown done`).catch((e) => {
            throw new Error(`${(e as Error).message}; the screen:\n${screen()}`);
          });
        }
        if (i === 3) {
          // Sorted by CPU, the two running rows (the pipeline's shell and step 3, both near 0 %) can swap
          // between two draws, so which one Home selects is a race. Sorted by elapsed time the order is
          // fixed: the pipeline's shell, then step 3. s×3 (cpu → rss → io → elapsed), then Home, Down,
          // Enter expands step 3 to its live process.
          tmux("send-keys", "s", "s", "s");
          await waitFor(() => screen().includes("sort elapsed"), 20000, "the elapsed sort").catch((e) => {
            throw new Error(`${(e as Error).message}; the screen:\n${screen()}`);
          });
          tmux("send-keys", "g", "j", "Enter");
          await waitFor(() => /\d+ bash step-03\.sh /.test(screen()), 20000, "step 3 expanded").catch((e) => {
            throw new Error(`${(e as Error).message}; the screen:\n${screen()}`);
          });
        }
        release(fifo);
      }
      expect(await recording.exited).toBe(0);
      await waitFor(() => /done in \S+ · exit 0/.test(screen()), 15000, "the finished run").catch((e) => {
        throw new Error(`${(e as Error).message}; the screen:\n${screen()}`);
      });
      const last = screen();
      expect(last).toContain("run fifo-run");
      // the steps and the pipeline's own shell, an "other" step of its own
      expect(last).toContain(`steps 0 running · ${STEPS + 1} done`);
      for (let i = 1; i <= STEPS; i++) expect(last).toContain(stepName(i));
      expect(last.split("\n").length).toBeLessThanOrEqual(41);
      tmux("send-keys", "q");
      await waitFor(() => existsSync(rc) && readFileSync(rc, "utf8").trim() !== "", 10000, "top to exit");
      expect(readFileSync(rc, "utf8").trim()).toBe("0");
    } finally {
      tmux("kill-server");
      // never leave a step blocked on the FIFO
      if ((await releaseAll(fifo, recording)) < 0) recording.kill();
    }
  },
  180_000,
);

test("top into a pipe prints one snapshot of the active run and exits 0", async () => {
  const env = isolatedEnv();
  const dir = tempDir();
  const fifo = fifoPipeline(dir);
  const recording = Bun.spawn([BIN, "run", "--name", "piped", "--", "bash", "pipeline.sh", fifo], {
    env,
    cwd: dir,
    stdio: ["ignore", "ignore", "ignore"],
  });
  try {
    // the step is recorded as running once its argv is in the store
    let out = "";
    await waitFor(
      async () => {
        const r = await run(["top"], { env });
        expect(r.code).toBe(0);
        out = r.stdout;
        return /step-01\.sh\s+running/.test(out);
      },
      20000,
      "step 1 in the snapshot",
    );
    expect(out.match(/^tracer top · /gm)?.length).toBe(1);
    expect(out).toContain("run piped");
    expect(out).toMatch(/steps 2 running · 0 done/); // step 1 and the pipeline's own shell
    // the running step's live process, listed under it
    expect(out).toMatch(/\d+ bash step-01\.sh /);
    expect(out).not.toContain("\x1b");
  } finally {
    expect(await releaseAll(fifo, recording)).toBe(0);
  }
  // after the run: no active run, the newest shown finished
  const after = await run(["top"], { env });
  expect(after.code).toBe(0);
  const shown = `top printed:\n${after.stdout}${after.stderr}`;
  expect(shown).toContain("no active run: showing the newest run");
  expect(shown).toMatch(/run piped .* done in \S+ · exit 0/);
  // released all at once, the later steps last a few ms: one may be recorded without its argv on a
  // loaded host (then it is no step of its own), so only "none running" is certain here
  expect(shown).toMatch(/steps 0 running · \d+ done/);
}, 120_000);

test("top shows a daemon run's running step", async () => {
  const dir = tempDir();
  const config = join(dir, "config");
  mkdirSync(config);
  writeFileSync(join(config, "rules.yml"), "rules:\n  - name: faketool\n    process_name_is: faketool\n");
  const tool = join(dir, "faketool");
  writeFileSync(tool, '#!/bin/sh\nread -r line < "$1"\n');
  chmodSync(tool, 0o755);
  const fifo = join(dir, "release");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  const env = isolatedEnv({ TRACER_CONFIG_DIR: config });
  expect((await run(["init", "--run", "daemon-top"], { env })).code).toBe(0);
  const job = Bun.spawn([tool, fifo], { stdio: ["ignore", "ignore", "ignore"] });
  try {
    let out = "";
    await waitFor(
      async () => {
        out = (await run(["top"], { env })).stdout;
        return /faketool\s+running/.test(out);
      },
      20000,
      "the daemon run's step",
    ).catch((e) => {
      throw new Error(`${(e as Error).message}; top printed:\n${out}`);
    });
    expect(out).toContain("run daemon-top");
    expect(out).toMatch(new RegExp(`${job.pid} /bin/sh ${tool.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  } finally {
    Bun.spawnSync(["timeout", "5", "sh", "-c", 'echo go > "$1"', "sh", fifo]);
    await job.exited;
    await stopDaemon(env);
  }
}, 120_000);
