/** Strict standard base64: Buffer.from(s, "base64") silently skips garbage, which a verifier must not. */
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decode `text`, or undefined when it is not canonical base64 of exactly `length` bytes (secret keys). */
export function decodeBase64(text: string, length: number): Uint8Array | undefined {
  if (!B64.test(text)) return undefined;
  const bytes = new Uint8Array(Buffer.from(text, "base64"));
  if (bytes.length !== length) return undefined;
  // canonical: re-encoding gives the same text (no stray bits in the padding)
  return Buffer.from(bytes).toString("base64") === text ? bytes : undefined;
}

export const encodeBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const PAD = 64;
const NONE = 255;
const VALUE = new Uint8Array(256).fill(NONE);
for (let i = 0; i < 64; i++) VALUE[ALPHABET.charCodeAt(i)] = i;
VALUE["=".charCodeAt(0)] = PAD;

/**
 * Decode base64 exactly as minisign's b64_to_bin does for signature and public key lines, or undefined
 * when it would fail or the result is not `length` bytes: standard alphabet only (no whitespace), a
 * length that is a multiple of 4, padding only in the last group as `xx==` or `xxx=`. The unused bits
 * before the padding are ignored, as minisign ignores them (non-canonical padding is accepted).
 */
export function decodeMinisignBase64(text: Uint8Array | string, length: number): Uint8Array | undefined {
  const b = typeof text === "string" ? Buffer.from(text, "latin1") : text;
  if (b.length === 0 || b.length % 4 !== 0) return undefined;
  const out: number[] = [];
  for (let g = 0; g < b.length; g += 4) {
    const [t0, t1, t2, t3] = [VALUE[b[g]!]!, VALUE[b[g + 1]!]!, VALUE[b[g + 2]!]!, VALUE[b[g + 3]!]!];
    if (t0 === NONE || t1 === NONE || t2 === NONE || t3 === NONE) return undefined;
    const last = g + 4 === b.length;
    if (t0 === PAD || t1 === PAD || ((t2 === PAD || t3 === PAD) && (!last || t3 !== PAD))) return undefined;
    out.push(((t0 << 2) | (t1 >> 4)) & 0xff);
    if (t2 === PAD) break;
    out.push(((t1 << 4) | (t2 >> 2)) & 0xff);
    if (t3 === PAD) break;
    out.push(((t2 << 6) | t3) & 0xff);
  }
  return out.length === length ? Uint8Array.from(out) : undefined;
}
