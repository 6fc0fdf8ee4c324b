import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Manifest, pinInstallScript } from "../../scripts/release.ts";
import { ROOT } from "../helpers/harness.ts";

const template = readFileSync(join(ROOT, "scripts", "install.sh"), "utf8");
const entry = (target: string, sha256: string) => ({
  target,
  file: `tracer-1.2.3-${target}.tar.gz`,
  size: 1,
  sha256,
  blake2b: "b",
  binary: { file: `tracer-1.2.3-${target}`, size: 1, sha256: "x", blake2b: "y" },
});

test("the release pins its version and each tarball's SHA-256 into install.sh", () => {
  const manifest: Manifest = {
    version: "1.2.3",
    files: [entry("linux-x64", "a".repeat(64)), entry("darwin-arm64", "c".repeat(64))],
  };
  const pinned = pinInstallScript(template, manifest);
  expect(pinned).toContain('TRACER_VERSION="1.2.3"');
  expect(pinned).toContain(`linux-x64) echo "${"a".repeat(64)}"`);
  expect(pinned).toContain(`darwin-arm64) echo "${"c".repeat(64)}"`);
  expect(pinned).toContain('linux-arm64) echo ""'); // not in this release: refused as unsupported
  expect(pinned).not.toMatch(/@[A-Za-z0-9_-]+@/);
});

test("install.sh trusts the project's committed release key", () => {
  const pub = readFileSync(join(ROOT, "keys", "tracer-release.pub"), "utf8")
    .trim()
    .split("\n")[1];
  expect(template).toContain(`RELEASE_PUBKEY="${pub}"`);
});
