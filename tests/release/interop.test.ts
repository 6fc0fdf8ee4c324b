/**
 * Interop both ways with Debian's minisign 0.11 (scripts/setup-system.sh installs it): its signatures
 * verify with `tracer verify`, ours with `minisign -V`, and encrypted secret keys load in either signer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatPublicKey, formatSecretKey, generateKeyPair } from "../../src/release/index.ts";
import { ROOT, cleanupTemp, run, tempDir } from "../helpers/harness.ts";

let dir: string;
let file: string;

function sh(cmd: string[], stdin?: string, env: Record<string, string> = {}) {
  const p = Bun.spawnSync(cmd, {
    cwd: dir,
    stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
    env: { ...process.env, ...env } as Record<string, string>,
  });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}
const bunScript = (script: string, args: string[], stdin?: string, env?: Record<string, string>) =>
  sh([process.execPath, join(ROOT, "scripts", script), ...args], stdin, env);

beforeAll(() => {
  dir = tempDir("tracer-interop-");
  file = join(dir, "data.txt");
  writeFileSync(file, "a release, say\n".repeat(1000));
});
afterAll(cleanupTemp);

describe("minisign interop", () => {
  test("minisign -S → tracer verify (file key and base64 key)", async () => {
    expect(sh(["minisign", "-G", "-W", "-p", "m.pub", "-s", "m.key"]).code).toBe(0);
    expect(sh(["minisign", "-S", "-s", "m.key", "-m", file]).code).toBe(0);
    const r = await run(["verify", file, "--pubkey", join(dir, "m.pub")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("file       data.txt");
    const b64 = readFileSync(join(dir, "m.pub"), "utf8").trim().split("\n")[1]!;
    expect((await run(["verify", file, "--pubkey-string", b64])).code).toBe(0);
  });

  test("our signer → minisign -V, with version and target in the trusted comment", () => {
    const k = bunScript("keygen.ts", ["--pub", "t.pub", "--sec", "t.key", "--unencrypted"]);
    expect(k.code).toBe(0);
    const s = bunScript("release.ts", ["--key", "t.key", "--sign", file, "--version", "9.9.9"]);
    expect(s.err).toContain("signed");
    expect(s.code).toBe(0);
    const v = sh(["minisign", "-Vm", file, "-p", "t.pub"]);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/Trusted comment: timestamp:\d+\tfile:data\.txt\tversion:9\.9\.9\thashed/);
    // minisign itself refuses ours once the file changes
    writeFileSync(join(dir, "copy.txt"), `${readFileSync(file, "utf8")}x`);
    expect(sh(["minisign", "-Vm", "copy.txt", "-x", `${file}.minisig`, "-p", "t.pub"]).code).not.toBe(0);
  });

  test("an encrypted minisign key loads in our signer: password from env and from stdin", () => {
    expect(sh(["minisign", "-G", "-p", "e.pub", "-s", "e.key"], "s3cret pass\ns3cret pass\n").code).toBe(0);
    expect(readFileSync(join(dir, "e.key"), "utf8")).toContain("RWRTY0Iy"); // "EdScB2": scrypt-encrypted
    const env = bunScript("release.ts", ["--key", "e.key", "--sign", file], undefined, {
      TRACER_KEY_PASSWORD: "s3cret pass",
    });
    expect(env.err).toContain("signed");
    expect(sh(["minisign", "-Vm", file, "-p", "e.pub"]).code).toBe(0);
    const stdin = bunScript(
      "release.ts",
      ["--key", "e.key", "--password-stdin", "--sign", file],
      "s3cret pass\n",
    );
    expect(stdin.code).toBe(0);
    expect(sh(["minisign", "-Vm", file, "-p", "e.pub"]).code).toBe(0);
  });

  test("a key encrypted by our format (cheap scrypt limits, to keep the test fast) signs with minisign -S", async () => {
    const k = generateKeyPair();
    writeFileSync(join(dir, "o.pub"), formatPublicKey(k));
    writeFileSync(
      join(dir, "o.key"),
      formatSecretKey(k, "pw-ours", { opslimit: 1 << 20, memlimit: 1 << 24 }),
    );
    const s = sh(["minisign", "-S", "-s", "o.key", "-m", file, "-x", "o.minisig"], "pw-ours\n");
    expect(s.code).toBe(0);
    const r = await run(["verify", file, "--sig", join(dir, "o.minisig"), "--pubkey", join(dir, "o.pub")]);
    expect(r.code).toBe(0);
    // and a wrong password is named as such by our loader
    const wrong = bunScript("release.ts", ["--key", "o.key", "--password-stdin", "--sign", file], "nope\n");
    expect(wrong.code).not.toBe(0);
    expect(wrong.err).toContain("wrong password for the secret key");
  });
});
