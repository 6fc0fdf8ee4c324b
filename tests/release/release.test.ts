/**
 * scripts/release.ts for the host target: the raw binary, the tarball and the manifest are all signed,
 * the manifest's sizes and hashes match the files, and stock minisign accepts every signature.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT, cleanupTemp, run, tempDir } from "../helpers/harness.ts";
import { type KeyFiles, makeKeys } from "./_fixtures.ts";

let out: string;
let T: KeyFiles;
let log: string;
const VERSION = "7.7.7-test";

beforeAll(() => {
  const dir = tempDir("tracer-release-");
  T = makeKeys(dir, "rel");
  out = join(dir, "out");
  const p = Bun.spawnSync(
    [process.execPath, join(ROOT, "scripts", "release.ts"), "--key", T.sec, "--target", "linux-x64"].concat([
      "--out",
      out,
      "--version",
      VERSION,
      "--trusted-key",
      T.pub,
    ]),
    { stdin: "ignore" },
  );
  log = p.stderr.toString();
  expect(p.exitCode).toBe(0);
});
afterAll(cleanupTemp);

describe("scripts/release.ts", () => {
  test("packs and signs every artefact and writes a matching manifest", () => {
    const base = `tracer-${VERSION}-linux-x64`;
    expect(readdirSync(out).sort()).toEqual(
      [
        base,
        `${base}.minisig`,
        `${base}.tar.gz`,
        `${base}.tar.gz.minisig`,
        "manifest.json",
        "manifest.json.minisig",
        "install.sh",
        "install.sh.minisig",
      ].sort(),
    );
    // the bootstrap installer carries this release's version and tarball pin
    const installer = readFileSync(join(out, "install.sh"), "utf8");
    expect(installer).toContain(`TRACER_VERSION="${VERSION}"`);
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(m.version).toBe(VERSION);
    const e = m.files[0];
    expect(e.file).toBe(`${base}.tar.gz`);
    expect(e.size).toBe(statSync(join(out, e.file)).size);
    const sha = new Bun.CryptoHasher("sha256").update(readFileSync(join(out, e.file))).digest("hex");
    expect(e.sha256).toBe(sha);
    expect(installer).toContain(`linux-x64) echo "${sha}"`);
    expect(e.binary.blake2b).toMatch(/^[0-9a-f]{128}$/);
    expect(log).toContain("manifest.json signed");
  });

  test("stock minisign verifies the tarball, the raw binary and the manifest", () => {
    for (const f of [`tracer-${VERSION}-linux-x64.tar.gz`, `tracer-${VERSION}-linux-x64`, "manifest.json"]) {
      const p = Bun.spawnSync(["minisign", "-Vm", join(out, f), "-p", T.pub]);
      expect(p.stdout.toString()).toContain(`file:${f}\tversion:${VERSION}`);
      expect(p.exitCode).toBe(0);
    }
  });

  test("the released binary trusts the release key and checks the signed version", async () => {
    const bin = join(out, `tracer-${VERSION}-linux-x64`);
    const tgz = `${bin}.tar.gz`;
    const ok = await run(["verify", tgz, "--expect-version", VERSION, "--expect-target", "linux-x64"], {
      bin,
    });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`key        ${T.id} (rel)`);
    const other = await run(["verify", tgz, "--expect-target", "darwin-arm64"], { bin });
    expect(other.stderr).toContain("signed for target linux-x64, not darwin-arm64");
    expect(other.code).not.toBe(0);
  });
});
