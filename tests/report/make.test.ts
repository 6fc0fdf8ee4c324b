/**
 * End to end: `tracer run -- make -j2` on a real Makefile with 24 compile recipes and a link (issue 16).
 * Each recipe is one step named by its target, holding its compiler's processes (cc → cc1, as,
 * collect2, ld); make itself is an `other` step; the steps' CPU and I/O are the run's.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectStepsCoverRun } from "../helpers/attribution.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

const N = 24;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir();
  for (let i = 1; i <= N; i++)
    writeFileSync(join(dir, `m${i}.c`), `int f${i}(int x) { return x * ${i} + ${i}; }\n`);
  const calls = Array.from({ length: N }, (_, i) => `f${i + 1}(argc)`).join(" + ");
  const decls = Array.from({ length: N }, (_, i) => `int f${i + 1}(int);`).join("\n");
  writeFileSync(
    join(dir, "main.c"),
    `${decls}\nint main(int argc, char **argv) { return (${calls}) & 0; }\n`,
  );
  const objs = ["main.o", ...Array.from({ length: N }, (_, i) => `m${i + 1}.o`)].join(" ");
  // the default %.o rule (make execs `cc -O2 -c -o mN.o mN.c` itself), plus one recipe through sh -c
  writeFileSync(join(dir, "Makefile"), `CFLAGS = -O2\nprog: ${objs}\n\t@echo LINK $@; $(CC) -o $@ ${objs}\n`);
  env = isolatedEnv();
  const r = await run(["run", "--quiet", "--name", "mk", "--", "make", "-j2"], { env, cwd: dir });
  expect(r.code).toBe(0);
});
afterAll(cleanupTemp);

test("make -j2: one step per recipe, named by its target, with its compiler processes", async () => {
  const steps = (await expectStepsCoverRun(env, "mk")) as unknown as {
    key: string;
    name: string;
    kind: string;
    tools: string[];
    processes: number;
    failed: boolean;
  }[];
  const recipes = steps.filter((s) => s.kind === "make-recipe");
  expect(recipes.map((s) => s.name).sort()).toEqual(
    ["main.o", "prog", ...Array.from({ length: N }, (_, i) => `m${i + 1}.o`)].sort(),
  );
  // cc runs cc1 and as for each object: at least 3 processes a compile recipe
  for (const s of recipes.filter((s) => s.name.endsWith(".o"))) {
    expect(s.processes).toBeGreaterThanOrEqual(3);
    expect(s.tools).toEqual([`cc ${s.name}`]);
    expect(s.key).toBe(`make-recipe:${s.name}`);
  }
  // the link recipe (sh -c) holds cc and its collect2/ld
  expect(recipes.find((s) => s.name === "prog")!.processes).toBeGreaterThanOrEqual(4);
  expect(steps.filter((s) => s.kind !== "make-recipe").map((s) => s.key)).toEqual(["other:make"]);
  expect(steps.every((s) => !s.failed)).toBe(true);
});

test("rules test: a compiler line is the `compile` tool, named by its output", async () => {
  const r = await run(["rules", "test", "--", "cc", "-O2", "-c", "m1.c"], { env });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("cc m1.o");
  const o = await run(["rules", "test", "--", "gcc", "-o", "prog", "a.o"], { env });
  expect(o.stdout).toContain("gcc prog");
});
