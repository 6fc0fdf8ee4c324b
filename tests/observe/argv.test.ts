/** The argv cap (what the recorder keeps when it reads /proc itself) and the count of argv losses. */
import { expect, test } from "bun:test";
import { ArgvLoss, capArgv } from "../../src/observe/argv.ts";

test("a command line within the cap is kept whole, its length counted as /proc holds it", () => {
  expect(capArgv(["ls", "-l", "é"])).toEqual({
    argv: ["ls", "-l", "é"],
    argvBytes: 3 + 3 + 3,
    argvTruncated: false,
  });
  expect(capArgv(undefined)).toEqual({ argv: undefined, argvBytes: undefined, argvTruncated: undefined });
  // exactly the cap, NULs included, is not cut
  expect(capArgv(["abc", "de"], 7)).toEqual({ argv: ["abc", "de"], argvBytes: 7, argvTruncated: false });
});

test("past the cap: whole arguments while they fit, the head of the one that crosses it, the full length", () => {
  expect(capArgv(["abc", "defgh", "ij"], 6)).toEqual({
    argv: ["abc", "de"],
    argvBytes: 4 + 6 + 3,
    argvTruncated: true,
  });
  // the cap falls right after an argument (before its NUL): that argument is kept whole, the rest dropped
  expect(capArgv(["abc", "de", "f"], 6)).toEqual({ argv: ["abc", "de"], argvBytes: 9, argvTruncated: true });
  // the cap falls at an argument's start: nothing of it is kept
  expect(capArgv(["abc", "de"], 4)).toEqual({ argv: ["abc"], argvBytes: 7, argvTruncated: true });
  // fifteen 128 KiB arguments: 64 KiB kept, 1,966,090 bytes counted
  const A = "a".repeat(131071);
  const big = capArgv(["/bin/echo", ...Array<string>(15).fill(A)]);
  expect(big.argvTruncated).toBe(true);
  expect(big.argvBytes).toBe(10 + 15 * 131072);
  expect(big.argv).toEqual(["/bin/echo", "a".repeat(65536 - 10)]);
});

test("argv lost: counted once per process, uncounted when a later exec names it", () => {
  const loss = new ArgvLoss();
  const a: { argv?: string[] } = {};
  const b: { argv?: string[] } = { argv: ["true"] };
  loss.settle(a);
  loss.settle(a);
  loss.settle(b);
  expect(loss.count).toBe(1);
  a.argv = ["sh"];
  loss.settle(a);
  expect(loss.count).toBe(0);
});
