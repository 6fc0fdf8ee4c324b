import { afterAll, expect, test } from "bun:test";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sodiumBlake2bOfFd } from "../../ffi/sodium.ts";
import { blake2bOfFd } from "../../src/release/_crypto.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

// libsodium is on every CI host (minisign depends on it)
test("BLAKE2b over a read-only mapping equals Bun's streaming hash; an empty file falls back", () => {
  const file = join(tempDir(), "data");
  const data = new Uint8Array(5 * 1024 * 1024 + 3).map((_, i) => (i * 7919) % 253);
  writeFileSync(file, data);
  const fd = openSync(file, "r");
  try {
    const mapped = sodiumBlake2bOfFd(fd, data.length);
    expect(mapped).toBeDefined();
    const bun = Buffer.from(new Bun.CryptoHasher("blake2b512").update(data).digest()).toString("hex");
    expect(Buffer.from(mapped!).toString("hex")).toBe(bun);
    expect(Buffer.from(blake2bOfFd(fd)).toString("hex")).toBe(bun);
  } finally {
    closeSync(fd);
  }
  const empty = join(tempDir(), "empty");
  writeFileSync(empty, "");
  const efd = openSync(empty, "r");
  try {
    expect(sodiumBlake2bOfFd(efd, 0)).toBeUndefined();
    const want = Buffer.from(new Bun.CryptoHasher("blake2b512").update(new Uint8Array(0)).digest()).toString(
      "hex",
    );
    expect(Buffer.from(blake2bOfFd(efd)).toString("hex")).toBe(want);
  } finally {
    closeSync(efd);
  }
});
