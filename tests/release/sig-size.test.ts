/**
 * A signature file is read only as far as minisign reads it (src/release/format.ts SIG_READ_MAX): a
 * 1 GB `.minisig` (sparse) costs neither memory nor time. Asserted on the bytes the process read
 * (rchar of /proc/<shell>/io, which includes its reaped child) and its peak RSS (`/usr/bin/time -v`,
 * Debian package `time`); the test timeout is only a guard.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { SigExit, formatPublicKey, generateKeyPair, sign } from "../../src/release/index.ts";
import { BIN, cleanupTemp, tempDir } from "../helpers/harness.ts";

const GB = 1 << 30;
let dir: string;
let data: string;
let pub: string;
let good: string;

beforeAll(() => {
  dir = tempDir("tracer-sigsize-");
  const k = generateKeyPair();
  data = join(dir, "data.bin");
  writeFileSync(data, "payload\n");
  pub = join(dir, "k.pub");
  writeFileSync(pub, formatPublicKey(k));
  good = sign({ key: k, data: { path: data }, fields: { file: "data.bin" } });
});
afterAll(cleanupTemp);

/** A sparse file of `size` bytes that starts with `head`. */
function sparse(name: string, size: number, head = ""): string {
  const path = join(dir, name);
  const fd = openSync(path, "w");
  writeSync(fd, head);
  closeSync(fd);
  Bun.spawnSync(["truncate", "-s", String(size), path]);
  return path;
}

/** Run `tracer verify` under /usr/bin/time -v; return exit code, bytes read, peak RSS (KiB), the report. */
function measured(sig: string) {
  const script = `"$0" verify "$1" --sig "$2" --pubkey "$3"; c=$?; grep '^rchar:' /proc/$$/io >&2; exit $c`;
  const p = Bun.spawnSync(["/usr/bin/time", "-v", "sh", "-c", script, BIN, data, sig, pub], {
    env: { ...process.env, NO_COLOR: "1" },
  });
  const err = p.stderr.toString();
  const num = (re: RegExp) => Number(re.exec(err)?.[1] ?? Number.NaN);
  return {
    code: num(/Exit status: (\d+)/),
    rchar: num(/^rchar: (\d+)/m),
    maxRssKiB: num(/Maximum resident set size \(kbytes\): (\d+)/),
    report: err,
  };
}

describe("signature file size", () => {
  test("a 1 GB .minisig of zeros is refused having read a few KiB, under 64 MB RSS", () => {
    const r = measured(sparse("zeros.minisig", GB));
    console.log(r.report.trim());
    expect(r.report).toContain("line 1 is too long, holds a NUL, or has no end");
    expect(r.code).toBe(SigExit.malformed);
    expect(r.rchar).toBeLessThan(256 * 1024);
    expect(r.maxRssKiB).toBeLessThan(64 * 1024);
  }, 30_000);

  test("a valid signature followed by 1 GB is read only up to minisign's limit, and verifies as in minisign", () => {
    const sig = sparse("trailer.minisig", GB, good);
    const r = measured(sig);
    expect(r.code).toBe(0);
    expect(r.rchar).toBeLessThan(256 * 1024);
    expect(r.maxRssKiB).toBeLessThan(64 * 1024);
    const m = Bun.spawnSync(["minisign", "-V", "-m", data, "-x", sig, "-p", pub]);
    expect(m.exitCode).toBe(0);
  }, 30_000);
});
