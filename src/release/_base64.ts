/** Strict standard base64: Buffer.from(s, "base64") silently skips garbage, which a verifier must not. */
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decode `text`, or undefined when it is not canonical base64 of exactly `length` bytes. */
export function decodeBase64(text: string, length: number): Uint8Array | undefined {
  if (!B64.test(text)) return undefined;
  const bytes = new Uint8Array(Buffer.from(text, "base64"));
  if (bytes.length !== length) return undefined;
  // canonical: re-encoding gives the same text (no stray bits in the padding)
  return Buffer.from(bytes).toString("base64") === text ? bytes : undefined;
}

export const encodeBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
