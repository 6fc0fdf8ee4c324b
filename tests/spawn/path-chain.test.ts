import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathChainProblems } from "../../src/spawn/verified.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

test("path chain: a world-writable file or plain directory is a problem; a sticky shared dir is not", () => {
  const base = tempDir(); // under /tmp: sticky, world-writable, owned by root
  const file = join(base, "tracer");
  writeFileSync(file, "x");
  chmodSync(file, 0o755);
  expect(pathChainProblems(file)).toEqual([]);
  chmodSync(file, 0o777);
  expect(pathChainProblems(file)).toEqual([`${file} is world-writable`]);

  const open = join(base, "open");
  mkdirSync(open);
  chmodSync(open, 0o777);
  const inside = join(open, "tracer");
  writeFileSync(inside, "x");
  chmodSync(inside, 0o755);
  expect(pathChainProblems(inside)).toEqual([`${open} is world-writable`]);

  chmodSync(open, 0o1777); // sticky: others cannot rename our entry
  expect(pathChainProblems(inside)).toEqual([]);
});
