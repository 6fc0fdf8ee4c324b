/**
 * `tracer diff` labels same-named steps as the report does (`samtools faidx #2`): two rows both
 * `samtools faidx` could not be told apart (found by a newcomer).
 */
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

test("two steps of one name are #1 and #2 in the diff, as in the report", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, "ref.fa"), ">r\nACGTACGTACGTACGT\n");
  const env = isolatedEnv();
  const cmd = ["bash", "-c", "samtools faidx ref.fa; sleep 0.05; samtools faidx ref.fa; true"];
  for (const name of ["d1", "d2"])
    expect((await run(["run", "--quiet", "--name", name, "--", ...cmd], { env, cwd: dir })).code).toBe(0);
  const d = await run(["diff", "d1", "d2"], { env });
  expect(d.code).toBe(0);
  const rows = d.stdout.split("\n").filter((l) => l.includes("samtools faidx"));
  expect(rows.some((l) => l.endsWith("samtools faidx #1"))).toBe(true);
  expect(rows.some((l) => l.endsWith("samtools faidx #2"))).toBe(true);
}, 60_000);
