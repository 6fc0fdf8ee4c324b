/**
 * `tracer advise` and the requests a step already makes (issue 16): the scheduler header of a Nextflow
 * task's `.command.run` parsed strictly, and three real runs of a Nextflow-like work dir (tasks run by
 * `bash .command.run`, as Nextflow does) whose ALIGN asks for far more than it uses.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseSchedulerHeader, slurmMemory, slurmMinutes } from "../../src/insight/_requests.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe("scheduler headers", () => {
  test("Nextflow's Slurm header (-c N, -t HH:MM:SS, --mem NM) and the --opt=value forms", () => {
    const nf = [
      "#!/bin/bash",
      "#SBATCH -J nf-ALIGN_(1)",
      "#SBATCH -o /w/ab/cdef/.command.log",
      "#SBATCH --no-requeue",
      "#SBATCH --signal B:USR2@30",
      "#SBATCH -c 4",
      "#SBATCH -t 02:30:00",
      "#SBATCH --mem 4096M",
      "# NEXTFLOW TASK: ALIGN (1)",
      "set -e",
      "#SBATCH --mem=99G",
    ].join("\n");
    // a directive after the first command is not one (sbatch stops there)
    expect(parseSchedulerHeader(nf)).toEqual({
      memory_bytes: 4 * GiB,
      cpus: 4,
      time_minutes: 150,
      source: "sbatch",
    });
    expect(parseSchedulerHeader("#SBATCH --mem=16G --cpus-per-task=8 --time=1-00:00:01\n")).toEqual({
      memory_bytes: 16 * GiB,
      cpus: 8,
      time_minutes: 24 * 60 + 1,
      source: "sbatch",
    });
    expect(
      parseSchedulerHeader("#PBS -l nodes=1:ppn=2\n#PBS -l walltime=01:00:00\n#PBS -l mem=4gb\n"),
    ).toEqual({ memory_bytes: 4 * GiB, cpus: 2, time_minutes: 60, source: "pbs" });
  });

  test("only numbers and known units: anything else is no request", () => {
    for (const v of ["4G;rm", "1e9", "-5", "0x10", "4 G", "", "9999999999999G", "4GB"])
      expect(slurmMemory(v)).toBeNull();
    expect(slurmMemory("2048")).toBe(2 * GiB); // megabytes when no unit
    expect(slurmMemory("512k")).toBe(512 * 1024);
    for (const v of ["UNLIMITED", "1:2:3:4", "a-1", "0", "1.5"]) expect(slurmMinutes(v)).toBeNull();
    expect([slurmMinutes("90"), slurmMinutes("1:30"), slurmMinutes("2-3")]).toEqual([90, 2, 51 * 60]);
    expect(parseSchedulerHeader("#SBATCH --mem=$(reboot) --cpus-per-task=x\n")).toBeUndefined();
    expect(parseSchedulerHeader("# NEXTFLOW TASK: X\n")).toBeUndefined();
  });
});

describe("tracer advise over Nextflow-like runs with #SBATCH headers", () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    await ensureBuilt();
    const dir = tempDir();
    env = isolatedEnv();
    const tasks = {
      // asks 16 GiB, 8 cpus and 4 h for a 0.2 s single-threaded sleep
      ALIGN: "#SBATCH --mem=16G\n#SBATCH --cpus-per-task=8\n#SBATCH --time=04:00:00\n",
      // asks exactly 2 × what it gets suggested (128 MiB, 1 cpu, 1 min): not over
      SORT: "#SBATCH -c 1\n#SBATCH -t 00:02:00\n#SBATCH --mem 256M\n",
      // a hostile header: nothing in it is a number with a unit; the name holds an escape sequence
      "EVIL\u001b[31m": "#SBATCH --mem=16G;reboot\n#SBATCH --cpus-per-task=$(id)\n",
    };
    for (let i = 0; i < 3; i++) {
      for (const [name, header] of Object.entries(tasks)) {
        const work = join(dir, "work", `r${i}`, name.slice(0, 4).toLowerCase());
        mkdirSync(work, { recursive: true });
        writeFileSync(
          join(work, ".command.run"),
          `#!/bin/bash\n${header}# NEXTFLOW TASK: ${name} (${i})\nsleep 0.2\n`,
        );
      }
      const script = `for d in work/r${i}/*; do (cd "$d" && bash .command.run); done`;
      const r = await run(["run", "--quiet", "--pipeline", "nf", "--", "bash", "-c", script], {
        env,
        cwd: dir,
      });
      expect(r.code).toBe(0);
    }
  });

  test("json: each task's request from its .command.run; ALIGN over-requested, SORT not, EVIL unknown", async () => {
    const r = await run(["advise", "--format", "json"], { env });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const by = Object.fromEntries(j.steps.map((s: { name: string }) => [s.name, s]));
    expect(by.ALIGN.runs_seen).toBe(3);
    expect(by.ALIGN.requested).toEqual({
      memory_bytes: 16 * GiB,
      cpus: 8,
      time_minutes: 240,
      source: "sbatch",
    });
    expect(by.ALIGN.suggest).toMatchObject({ memory_bytes: 128 * MiB, cpus: 1, time_minutes: 1 });
    expect(by.ALIGN.over_requested).toEqual(["memory", "cpus", "time"]);
    expect(by.SORT.requested).toEqual({
      memory_bytes: 256 * MiB,
      cpus: 1,
      time_minutes: 2,
      source: "sbatch",
    });
    expect(by.SORT.over_requested).toEqual([]);
    expect(by["EVIL\u001b[31m"].requested).toBeNull();
    expect(by["EVIL\u001b[31m"].over_requested).toEqual([]);
  });

  test("table: requested beside suggested, the flag, and no raw control character", async () => {
    const t = await run(["advise"], { env });
    expect(t.code).toBe(0);
    expect(t.stdout).toContain("REQUESTED");
    expect(t.stdout).toMatch(
      /128MiB\s+1\s+1m\s+16GiB\/8\/4h\s+over-requested memory\+cpus\+time\b.*\sALIGN$/m,
    );
    expect(t.stdout).toMatch(/128MiB\s+1\s+1m\s+256MiB\/1\/2m\s+(?!over-requested)\S.*\sSORT$/m);
    // no request known: "-"; the name's escape byte shown as \x1b
    expect(t.stdout).toMatch(/\s1m\s+-\s+.*\sEVIL\\x1b\[31m$/m);
    expect(t.stdout.includes("\u001b")).toBe(false);
  });
});
