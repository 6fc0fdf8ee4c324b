/**
 * Self-verification end to end: a tracer built to trust key T, signed, with its .minisig installed beside
 * it, spawns its daemon (fd and verified strategies); the same binary with one byte changed near the end
 * (signature kept) refuses to spawn. Isolated state/runtime dirs; every daemon is terminated.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SigExit, loadSecretKey, signFile } from "../../src/release/index.ts";
import { cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import { buildWithKeys, makeKeys } from "./_fixtures.ts";

let dir: string;
let signed: string;
let tampered: string;

beforeAll(async () => {
  dir = tempDir("tracer-self-");
  const T = makeKeys(dir, "trusted");
  mkdirSync(join(dir, "good"));
  signed = await buildWithKeys(join(dir, "good", "tracer"), [T.pub]);
  const version = (await run(["--version"], { bin: signed })).stdout.trim();
  signFile(signed, loadSecretKey(readFileSync(T.sec, "utf8")), { version, target: "linux-x64" });
  // the tampered copy: one byte of an embedded string literal near the end of the file flipped
  mkdirSync(join(dir, "bad"));
  tampered = join(dir, "bad", "tracer");
  const bytes = readFileSync(signed);
  const at = bytes.lastIndexOf("unsigned build: no signature");
  expect(at).toBeGreaterThan(bytes.length * 0.9);
  bytes[at]! ^= 0x20; // 'u' → 'U'
  writeFileSync(tampered, bytes, { mode: 0o755 });
  copyFileSync(`${signed}.minisig`, `${tampered}.minisig`);
});
afterAll(cleanupTemp);

/** `tracer init` with its own dirs, always followed by `tracer terminate`. */
async function initThenTerminate(bin: string, spawn: string) {
  const env = isolatedEnv();
  try {
    const init = await run(["init", "--spawn", spawn], { bin, env });
    const info = await run(["info", "--json"], { bin, env });
    return { init, info };
  } finally {
    await run(["terminate"], { bin, env });
  }
}

describe("self-verification before exec", () => {
  test("verify --self: a signed build with its signature installed is signed & valid", async () => {
    const r = await run(["verify", "--self"], { bin: signed });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`signed & valid: ${signed} matches ${signed}.minisig`);
    const j = JSON.parse((await run(["verify", "--self", "--json"], { bin: signed })).stdout);
    expect(j).toMatchObject({
      state: "signed",
      binary: signed,
      fields: { file: "tracer", target: "linux-x64" },
    });
  });

  for (const spawn of ["fd", "verified"]) {
    test(`the signed build spawns its daemon (${spawn} strategy)`, async () => {
      const { init, info } = await initThenTerminate(signed, spawn);
      expect(init.stderr).toBe("");
      expect(init.code).toBe(0);
      expect(JSON.parse(info.stdout).strategy).toBe(spawn);
    });

    test(`one changed byte with the signature kept refuses to spawn (${spawn} strategy)`, async () => {
      const { init, info } = await initThenTerminate(tampered, spawn);
      expect(init.stderr).toContain(
        `refusing to start ${tampered}: it does not match the signature installed`,
      );
      expect(init.stderr).toContain("modified after signing");
      expect(init.code).toBe(3);
      expect(info.code).toBe(4); // no daemon answers
    });
  }

  test("verify --self names the mismatch; without a signature it is an unsigned build", async () => {
    const bad = await run(["verify", "--self"], { bin: tampered });
    expect(bad.stderr).toContain("modified after signing");
    expect(bad.code).toBe(SigExit.fileModified);
    rmSync(`${tampered}.minisig`);
    const unsigned = await run(["verify", "--self"], { bin: tampered });
    expect(unsigned.code).toBe(0);
    expect(unsigned.stdout).toBe(`unsigned build: no signature installed at ${tampered}.minisig\n`);
  });
});
