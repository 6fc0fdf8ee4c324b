/**
 * A rule file may come with a pipeline (`--rules pipeline/rules.yml`, or planted as the user's
 * rules.yml): its size and its shape are bounded before any process is matched. An attacker found a
 * 484-byte file of nested YAML aliases (`&a1 {or: [*a0, *a0, *a0]}` twelve deep: 3^12 conditions) that
 * made `report` run past 60 s and `rules check` take 2 GB, a FIFO named as the file that hung it, and
 * /dev/zero that grew its memory without end.
 */
import { afterAll, expect, test } from "bun:test";
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_CONDITIONS, parseRuleFile } from "../../src/rules/parse.ts";
import { BIN, cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

/** `levels` of `&aN {or: [*aN-1 × fanout]}`: fanout^levels conditions from a few hundred bytes */
function aliasBomb(levels: number, fanout: number): string {
  const lines = ["rules:", "  - name: bomb", "    or:", "      - &a0 {command_contains: zzzz}"];
  for (let i = 1; i <= levels; i++)
    lines.push(
      `      - &a${i} {or: [${Array(fanout)
        .fill(`*a${i - 1}`)
        .join(", ")}]}`,
    );
  return `${lines.join("\n")}\n`;
}

test("nested YAML aliases past the condition budget are refused at once, naming the limit", () => {
  const text = aliasBomb(12, 3);
  expect(text.length).toBeLessThan(600);
  // refused while counting, not after expanding 3^12 conditions (which took minutes)
  expect(() => parseRuleFile(text, "bomb.yml")).toThrow(`more than ${MAX_CONDITIONS} conditions`);
  // a few aliases reused within the budget stay legitimate YAML
  expect(parseRuleFile(aliasBomb(3, 3), "small.yml").rules).toHaveLength(1);
});

test("a list counts each of its entries, wherever an alias repeats it: 100 rules sharing a 60,000-name list are refused", () => {
  const names = Array.from({ length: 60_000 }, (_, i) => `q${String(i).padStart(5, "0")}`).join(",");
  const lines = ["version: 1", "rules:", `  - {name: r0, command_not_contains: &L [${names}]}`];
  for (let i = 1; i < 100; i++) lines.push(`  - {name: r${i}, command_not_contains: *L}`);
  const text = `${lines.join("\n")}\n`;
  expect(text.length).toBeLessThan(1 << 20);
  expect(() => parseRuleFile(text, "lists.yml")).toThrow(`more than ${MAX_CONDITIONS} conditions`);
  // a list of a few hundred names, used twice, is an ordinary rule file
  const few = Array.from({ length: 300 }, (_, i) => `tool${i}`).join(", ");
  const ok = `rules:\n  - {name: a, process_name_is: &N [${few}]}\n  - {name: b, process_name_is: *N, kind: script}\n`;
  expect(parseRuleFile(ok, "ok.yml").rules).toHaveLength(2);
});

test("conditions nested deeper than the limit are a problem of the file, not a stack overflow", () => {
  let cond = "{command_contains: x}";
  for (let i = 0; i < 200; i++) cond = `{not: ${cond}}`;
  expect(() => parseRuleFile(`rules:\n  - name: deep\n    and: [${cond}]\n`, "deep.yml")).toThrow(
    "nested deeper than 32 levels",
  );
});

test("through the binary: the bomb, a FIFO and /dev/zero each end with one clear error", async () => {
  const dir = tempDir();
  const env = isolatedEnv();
  const bomb = join(dir, "bomb.yml");
  writeFileSync(bomb, aliasBomb(12, 3));
  const checked = await run(["rules", "check", bomb], { env });
  expect(checked.code).toBe(1);
  expect(checked.stderr).toContain(`more than ${MAX_CONDITIONS} conditions`);

  const fifo = join(dir, "rules.fifo");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  const zero = join(dir, "zero.yml");
  symlinkSync("/dev/zero", zero);
  for (const [file, why] of [
    [fifo, "not a regular file"],
    [zero, "not a regular file"],
  ] as const) {
    // killed at the timeout if it hangs: the test fails, it does not stall
    const r = Bun.spawnSync([BIN, "rules", "test", "--rules", file, "--", "bwa", "mem"], {
      env,
      stderr: "pipe",
      timeout: 20_000,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toContain(`cannot read rule file ${file}: ${why}`);
  }
  const big = join(dir, "big.yml");
  writeFileSync(big, `# ${"x".repeat(2 << 20)}\n`);
  const r = await run(["rules", "check", big], { env });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("more than a rule file may have");
});
