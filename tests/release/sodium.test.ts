import { expect, test } from "bun:test";
import { sodiumBlake2b } from "../../ffi/sodium.ts";

// libsodium is on every CI host (minisign depends on it); the hash must equal Bun's own BLAKE2b-512
test("libsodium BLAKE2b-512 (used when present) equals Bun's, across chunk boundaries", () => {
  const data = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 131) % 251);
  const s = sodiumBlake2b(64);
  expect(s).toBeDefined();
  for (let i = 0; i < data.length; i += 1 << 20) s!.update(data.subarray(i, i + (1 << 20)));
  const bun = new Bun.CryptoHasher("blake2b512").update(data).digest();
  expect(Buffer.from(s!.digest()).toString("hex")).toBe(Buffer.from(bun).toString("hex"));
});
