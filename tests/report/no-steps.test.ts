/**
 * A run without steps says why: CMD never ran (not found, not executable), or no rule matched what ran.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

test("a command that could not be run: the report says so, not that no rule matched", async () => {
  const env = isolatedEnv();
  const noexec = join(tempDir(), "tool");
  writeFileSync(noexec, "#!/bin/sh\n");
  chmodSync(noexec, 0o644);
  for (const [name, cmd, code, why] of [
    ["nocmd", ["tracer-no-such-tool-x", "mem"], 127, "not found"],
    ["noexec", [noexec], 126, "not executable"],
  ] as const) {
    expect((await run(["run", "--quiet", "--name", name, "--", ...cmd], { env })).code).toBe(code);
    const r = await run(["report", name], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`nothing was recorded: the command could not be run (exit ${code}: ${why})`);
    expect(r.stdout).not.toContain("no steps recognized");
    // no empty process table under it
    expect(r.stdout).not.toContain("\nprocesses\n");
    expect(r.stdout).not.toContain("COMMAND");
  }
  // a command that ran and exited 127 itself is not one that could not be run
  expect((await run(["run", "--quiet", "--name", "ran", "--", "sh", "-c", "exit 127"], { env })).code).toBe(
    127,
  );
  const ran = await run(["report", "ran"], { env });
  expect(ran.stdout).not.toContain("could not be run");
});
