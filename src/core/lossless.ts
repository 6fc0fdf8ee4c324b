/**
 * Bytes that may not be UTF-8 (a command line, a cwd, a comm: the kernel gives bytes) as a JS string,
 * losslessly: "surrogateescape", as Python decodes file names (PEP 383). Valid UTF-8 decodes as usual;
 * each byte of an invalid sequence (0x80–0xFF) becomes the lone surrogate U+DC80–U+DCFF. Valid UTF-8
 * never encodes a surrogate, so the mapping is one-to-one and `encodeLossless(decodeLossless(b))`
 * gives `b` back for every byte string.
 *
 * In JSON (report --format json, the store's argv column) such a character is written as the escape
 * `\udcff`; a reader turns it back into the byte 0xFF the same way (Python:
 * `s.encode("utf-8", "surrogateescape")`). Terminals and text formats show it as `\xff`
 * (src/core/sanitize.ts). See docs/report-schema.json.
 */

const strict = new TextDecoder("utf-8", { fatal: true });

/** Bytes → string; invalid UTF-8 bytes become U+DC80–U+DCFF (never throws, never loses a byte). */
export function decodeLossless(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    return slowDecode(bytes);
  }
}

/** The length of a valid UTF-8 sequence starting at `i` (RFC 3629: no overlongs, no surrogates), or 0. */
function sequenceAt(b: Uint8Array, i: number): number {
  const c = b[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const x = b[i + k];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

function slowDecode(b: Uint8Array): string {
  const parts: string[] = [];
  let run = 0; // start of the current run of valid UTF-8
  for (let i = 0; i < b.length; ) {
    const n = sequenceAt(b, i);
    if (n) {
      i += n;
      continue;
    }
    if (i > run) parts.push(strict.decode(b.subarray(run, i)));
    parts.push(String.fromCharCode(0xdc00 + b[i]!));
    run = ++i;
  }
  if (run < b.length) parts.push(strict.decode(b.subarray(run)));
  return parts.join("");
}

/** String → bytes, the inverse of {@link decodeLossless}: U+DC80–U+DCFF become the bytes 0x80–0xFF. */
export function encodeLossless(text: string): Uint8Array {
  if (!/[\udc80-\udcff]/u.test(text)) return Buffer.from(text, "utf8");
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xdc80 && cp <= 0xdcff && ch.length === 1) out.push(cp - 0xdc00);
    else out.push(...Buffer.from(ch, "utf8"));
  }
  return Uint8Array.from(out);
}

/** Does the string hold a byte that was not UTF-8 (so a UTF-8 TEXT column would lose it)? */
export const hasRawBytes = (text: string): boolean => {
  // what /[\udc80-\udcff]/u finds: such a code unit not paired with a high surrogate before it (a
  // loop, not that regex: its first use costs `tracer run` ~0.03 ms, issue 15)
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc80 || c > 0xdcff) continue;
    const before = i > 0 ? text.charCodeAt(i - 1) : 0;
    if (before < 0xd800 || before > 0xdbff) return true;
  }
  return false;
};
