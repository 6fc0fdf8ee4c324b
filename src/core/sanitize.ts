/**
 * Make attacker-controlled text safe to print to a terminal: every character that a terminal would act
 * on or hide is shown visibly instead — C0 controls (tab and newline included), DEL and C1 controls as
 * `\xNN` (ESC → `\x1b`), bidirectional overrides and isolates, zero-width and other invisible format
 * characters, line/paragraph separators and lone surrogates as `\u{NNNN}`. Everything else, including
 * a backslash, is kept as it is.
 */

// C0, DEL, C1 | soft hyphen, Arabic letter mark, Mongolian vowel separator | zero-width, bidi marks |
// line/para separators, bidi embeddings/overrides | word joiner, invisible operators, bidi isolates,
// deprecated format characters | BOM | interlinear annotation | tag characters | lone surrogates (with
// the u flag a paired surrogate is one code point and does not match)
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}\ud800-\udfff]/gu;

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/** `text` with every control or invisible formatting character escaped (see the module comment). */
export function sanitize(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0x9f ? `\\x${hex(code, 2)}` : `\\u{${hex(code, 4).toUpperCase()}}`;
  });
}
