/**
 * The tamper matrix, end to end through the compiled binary: a tracer built to trust key T and to know
 * key R as revoked. Every alteration is refused with its own message and exit code (docs/SIGNING.md),
 * with libsodium (used when installed) and with the node:crypto / Bun fallback (TRACER_NO_LIBSODIUM=1).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SigExit, loadSecretKey, sign } from "../../src/release/index.ts";
import { cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import { type KeyFiles, buildWithKeys, flipInBase64Line, makeKeys } from "./_fixtures.ts";

let dir: string;
let bin: string;
let T: KeyFiles;
let R: KeyFiles;
let U: KeyFiles;
let file: string;
let good: string;
const NAME = "payload-1.0.0.bin";

const signWith = (k: KeyFiles, fields: { version?: string } = { version: "1.0.0" }) =>
  sign({
    key: loadSecretKey(readFileSync(k.sec, "utf8")),
    data: { path: file },
    fields: { file: NAME, ...fields },
  });

const backends = { libsodium: {}, "node:crypto": { TRACER_NO_LIBSODIUM: "1" } };

beforeAll(async () => {
  dir = tempDir("tracer-tamper-");
  T = makeKeys(dir, "trusted");
  R = makeKeys(dir, "revoked");
  U = makeKeys(dir, "unknown");
  bin = await buildWithKeys(join(dir, "tracer"), [T.pub], [R.pub]);
  file = join(dir, NAME);
  writeFileSync(file, crypto.getRandomValues(new Uint8Array(1 << 20)));
  good = signWith(T);
});
afterAll(cleanupTemp);

for (const [backend, extraEnv] of Object.entries(backends))
  describe(`tracer verify: tamper matrix (${backend})`, () => {
    const env = isolatedEnv(extraEnv);
    /** Write `sig` and run `tracer verify` on `data` with it. */
    const verify = async (sig: string, extra: string[] = [], data = file) => {
      const sigFile = join(dir, `case-${Math.random().toString(36).slice(2)}.minisig`);
      writeFileSync(sigFile, sig);
      return run(["verify", data, "--sig", sigFile, ...extra], { bin, env });
    };
    const seen = new Map<number, string>();
    const refuses = async (
      what: string,
      r: { code: number; stderr: string },
      exit: number,
      message: RegExp,
    ) => {
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(exit);
      if (seen.has(exit) && seen.get(exit) !== what)
        throw new Error(`${what} shares exit ${exit} with ${seen.get(exit)}`);
      seen.set(exit, what);
    };

    test("the untouched file verifies with the embedded key and shows the signed fields", async () => {
      const r = await verify(good, ["--expect-version", "1.0.0"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`key        ${T.id} (trusted)`);
      expect(r.stdout).toContain("version    1.0.0");
      const j = await verify(good, ["--json"]);
      expect(JSON.parse(j.stdout)).toMatchObject({
        ok: true,
        keyId: T.id,
        fields: { file: NAME, version: "1.0.0" },
      });
    });

    test("one flipped bit in the file", async () => {
      const other = join(dir, `modified-${backend.replace(":", "-")}`);
      mkdirSync(other);
      const bytes = readFileSync(file);
      bytes[12345]! ^= 0x10;
      writeFileSync(join(other, NAME), bytes);
      await refuses(
        "file",
        await verify(good, [], join(other, NAME)),
        SigExit.fileModified,
        /modified after signing/,
      );
    });

    test("one flipped bit in the signature", async () => {
      const r = await verify(flipInBase64Line(good, 1, 40));
      await refuses("signature", r, SigExit.signatureCorrupt, /signature bytes were altered/);
    });

    test("one flipped bit in the trusted comment, and in the global signature", async () => {
      const comment = good.replace("version:1.0.0", "version:1.0.1"); // '0' → '1' is one bit
      expect(comment).not.toBe(good);
      await refuses(
        "comment",
        await verify(comment),
        SigExit.commentTampered,
        /trusted comment or the global/,
      );
      const global = await verify(flipInBase64Line(good, 3, 7));
      await refuses("comment", global, SigExit.commentTampered, /global signature invalid/);
    });

    test("wrong key id against a given key; unknown key against the embedded ones", async () => {
      const r = await verify(flipInBase64Line(good, 1, 3), ["--pubkey", T.pub]);
      await refuses("wrong key id", r, SigExit.wrongKeyId, /not with the given key/);
      await refuses("unknown key", await verify(signWith(U)), SigExit.unknownKey, /does not trust/);
      // the key given by hand makes the same signature good
      expect((await verify(signWith(U), ["--pubkey", U.pub])).code).toBe(0);
    });

    test("a revoked key", async () => {
      await refuses("revoked", await verify(signWith(R)), SigExit.revokedKey, /has been revoked/);
    });

    test("legacy Ed from minisign -l is refused without opt-in", async () => {
      const p = Bun.spawnSync([
        "minisign",
        "-S",
        "-l",
        "-s",
        T.sec,
        "-m",
        file,
        "-x",
        join(dir, `legacy-${backend.replace(":", "-")}.minisig`),
      ]);
      expect(p.exitCode).toBe(0);
      const legacy = readFileSync(join(dir, `legacy-${backend.replace(":", "-")}.minisig`), "utf8");
      await refuses("legacy", await verify(legacy), SigExit.legacy, /legacy "Ed" signature/);
      expect((await verify(legacy, ["--allow-legacy"])).code).toBe(0);
    });

    test("truncated or garbled base64, in the signature and in a public key", async () => {
      const lines = good.split("\n");
      const truncated = [lines[0], lines[1]!.slice(0, 60), lines[2], lines[3], ""].join("\n");
      await refuses("malformed", await verify(truncated), SigExit.malformed, /truncated or garbled/);
      const garbled = good.replace(lines[3]!, `${lines[3]!.slice(0, 10)}!${lines[3]!.slice(11)}`);
      await refuses("malformed", await verify(garbled), SigExit.malformed, /line 4 is not base64/);
      await refuses(
        "malformed",
        await verify(good, ["--pubkey-string", "RWQnot-base64"]),
        SigExit.malformed,
        /public key/,
      );
    });

    test("a signature replayed for another file name or another version", async () => {
      const renamed = join(dir, `payload-1.0.1-${backend.replace(":", "-")}.bin`);
      copyFileSync(file, renamed);
      await refuses(
        "name",
        await verify(good, [], renamed),
        SigExit.wrongFile,
        /signed for file "payload-1.0.0.bin"/,
      );
      const r = await verify(good, ["--expect-version", "1.0.1"]);
      await refuses("version", r, SigExit.wrongVersion, /signed for version 1.0.0, not 1.0.1/);
    });
  });
