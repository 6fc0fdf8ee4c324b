import { expect, test } from "bun:test";
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { sodiumBlake2b, sodiumEd25519Verify } from "../../ffi/sodium.ts";

// libsodium is on every CI host (minisign depends on it); the hash must equal Bun's own BLAKE2b-512
test("libsodium BLAKE2b-512 (used when present) equals Bun's, across chunk boundaries", () => {
  const data = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 131) % 251);
  const s = sodiumBlake2b(64);
  expect(s).toBeDefined();
  for (let i = 0; i < data.length; i += 1 << 20) s!.update(data.subarray(i, i + (1 << 20)));
  const bun = new Bun.CryptoHasher("blake2b512").update(data).digest();
  expect(Buffer.from(s!.digest()).toString("hex")).toBe(Buffer.from(bun).toString("hex"));
});

test("libsodium's Ed25519 check agrees with node:crypto: good, altered message, altered signature, empty message", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = new Uint8Array(publicKey.export({ format: "der", type: "spki" }).subarray(12));
  for (const msg of [new Uint8Array(0), new TextEncoder().encode("tracer"), new Uint8Array(4096).fill(7)]) {
    const sig = new Uint8Array(nodeSign(null, msg, privateKey));
    expect(sodiumEd25519Verify(raw, msg, sig)).toBe(true);
    const badSig = sig.slice();
    badSig[5]! ^= 1;
    expect(sodiumEd25519Verify(raw, msg, badSig)).toBe(false);
    expect(nodeVerify(null, msg, publicKey, badSig)).toBe(false);
    if (msg.length) {
      const badMsg = msg.slice();
      badMsg[0]! ^= 0x80;
      expect(sodiumEd25519Verify(raw, badMsg, sig)).toBe(false);
    }
  }
  expect(sodiumEd25519Verify(raw.subarray(1), new Uint8Array(1), new Uint8Array(64))).toBe(false);
});
