/**
 * scripts/install.sh, the curl | sh bootstrap, against the local HTTPS release host inside a private
 * mount namespace. The test fills in the release pins the way a release does (version, base, key, the
 * tarball's SHA-256) and trusts the test CA through CURL_CA_BUNDLE.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatPublicKey } from "../../src/release/index.ts";
import { ROOT, cleanupTemp, tempDir } from "../helpers/harness.ts";
import { MountNs } from "./_ns.ts";
import { ReleaseServer, TARGET, makeRelease, newKey } from "./_release.ts";

const SCRIPT = join(ROOT, "scripts", "install.sh");
let server: ReleaseServer;
let dir: string;
let ns: MountNs | undefined;
const key = newKey();

beforeAll(() => {
  dir = tempDir("tracer-sh-");
  server = ReleaseServer.start(dir);
  server.add(makeRelease(key, "1.1.0"), true);
  writeFileSync(join(dir, "ca.pem"), server.ca);
});
afterAll(() => {
  server?.stop();
  cleanupTemp();
});
afterEach(async () => {
  server.faults.clear();
  await ns?.close();
  ns = undefined;
});

const sha256 = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");
const tarball = () => server.releases.get("1.1.0")!.files.get(`tracer-1.1.0-${TARGET}.tar.gz`)!;

/** The script as a release would publish it, pinned to `pin`. */
function pinned(pin = sha256(tarball())): string {
  const s = readFileSync(SCRIPT, "utf8")
    .replace("@VERSION@", "1.1.0")
    .replace(/^RELEASE_BASE=.*$/m, `RELEASE_BASE="${server.base}"`)
    .replace(/^RELEASE_PUBKEY=.*$/m, `RELEASE_PUBKEY="${formatPublicKey(key).split("\n")[1]}"`)
    .replace(`@SHA256_${TARGET}@`, pin);
  const out = join(tempDir("tracer-sh-script-"), "install.sh");
  writeFileSync(out, s);
  return out;
}

async function runScript(script: string) {
  ns = await MountNs.create();
  const tmp = tempDir("tracer-sh-tmp-");
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", TMPDIR: tmp, CURL_CA_BUNDLE: join(dir, "ca.pem") };
  const r = await ns.run(["sh", script], env);
  return { ...r, tmp, bin: readdirSync(ns.path("/usr/local/bin")).sort() };
}

describe("scripts/install.sh", () => {
  test("static hygiene: POSIX sh syntax, no eval, no fixed /tmp path, https-only curl", () => {
    const code = readFileSync(SCRIPT, "utf8")
      .split("\n")
      .filter((l) => !/^\s*#/.test(l))
      .join("\n");
    const s = code;
    expect(Bun.spawnSync(["sh", "-n", SCRIPT]).exitCode).toBe(0);
    expect(s).not.toMatch(/\beval\b/);
    expect(s).not.toMatch(/\/tmp\//);
    expect(s).toContain("curl --proto '=https' --tlsv1.2 -f");
    expect(readFileSync(SCRIPT, "utf8").startsWith("#!/bin/sh\n")).toBe(true);
  });

  test("an unreleased script (no pins) refuses to install", async () => {
    const r = await runScript(SCRIPT);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no pinned checksum");
    expect(r.bin).toEqual([]);
  });

  test("installs the pinned release, verified with minisign, binary and signature in place", async () => {
    const r = await runScript(pinned());
    expect(r.stderr).toContain("installed at /usr/local/bin/tracer");
    expect(r.code).toBe(0);
    expect(r.bin).toEqual(["tracer", "tracer.minisig"]);
    const rel = server.releases.get("1.1.0")!;
    expect(Buffer.compare(readFileSync(ns!.path("/usr/local/bin/tracer")), Buffer.from(rel.binary))).toBe(0);
    expect(readdirSync(r.tmp)).toEqual([]);
  });

  test("a tarball that does not match the pin is refused; nothing installed, nothing left", async () => {
    const r = await runScript(pinned("0".repeat(64)));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("checksum mismatch");
    expect(r.bin).toEqual([]);
    expect(readdirSync(r.tmp)).toEqual([]);
  });

  test("a bad signature is refused by minisign even when the pin matches", async () => {
    const sig = server.releases.get("1.1.0")!.files.get(`tracer-1.1.0-${TARGET}.minisig`)!;
    const lines = Buffer.from(sig).toString().split("\n");
    const b = Buffer.from(lines[1]!, "base64");
    b[30]! ^= 1;
    lines[1] = b.toString("base64");
    server.faults.set(`download/v1.1.0/tracer-1.1.0-${TARGET}.minisig`, {
      body: Buffer.from(lines.join("\n")),
    });
    const r = await runScript(pinned());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("minisign");
    expect(r.bin).toEqual([]);
  });

  test("server error: curl -f fails cleanly", async () => {
    server.faults.set(`download/v1.1.0/tracer-1.1.0-${TARGET}.tar.gz`, { status: 500 });
    const r = await runScript(pinned());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("download failed");
    expect(r.bin).toEqual([]);
  });
});
