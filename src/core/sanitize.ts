/**
 * The one output-sanitising layer: text that came from recorded data (argv, comm, cwd, names, files a
 * pipeline wrote, log lines) is made safe to show on a terminal or in a text file someone will `cat`.
 *
 * Every character a terminal could interpret, or that hides or reorders text, is replaced by a visible
 * escape; nothing is dropped, so what was there can still be read:
 *
 * | what                                                        | shown as                 |
 * |-------------------------------------------------------------|--------------------------|
 * | tab, newline, carriage return                               | `\t` `\n` `\r`           |
 * | other C0 controls (ESC, BEL, NUL, …) and DEL                | `\x1b` `\x07` `\x00` `\x7f` |
 * | C1 controls U+0080–U+009F (CSI U+009B, OSC U+009D, …)       | `\u{9b}`                 |
 * | format characters (Cf): bidi overrides and isolates U+202A–202E, U+2066–2069, marks U+200E/200F, zero-width U+200B–200D, U+2060, U+FEFF, soft hyphen, tags | `\u{202e}` |
 * | other invisible characters (Default_Ignorable_Code_Point): combining grapheme joiner U+034F, Hangul fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors U+FE00–FE0F and U+E0100–E01EF, Mongolian selectors U+180B–180F | `\u{3164}` |
 * | line and paragraph separators U+2028, U+2029                | `\u{2028}`               |
 * | spaces other than U+0020 (Zs: no-break U+00A0, ideographic U+3000, U+2000–200A, …) and the Braille blank U+2800: each passes for a space or for nothing (`samtools\u{a0}sort` is not `samtools sort`) | `\u{a0}` |
 * | a combining mark after the first three on one character (stacked marks draw over the lines around: "Zalgo" text) | `\u{489}` |
 * | noncharacters U+FFFE, U+FFFF, U+FDD0–FDEF, U+nFFFE/U+nFFFF   | `\u{ffff}`               |
 * | a byte that was not UTF-8, kept as U+DC80–U+DCFF (src/core/lossless.ts) | `\xff`       |
 * | any other lone surrogate                                    | `\u{d800}`               |
 *
 * A backslash is not escaped: the output is for reading, not for parsing back (JSON keeps the exact
 * data), so `sanitize` is idempotent and a path like `C:\tmp` stays readable. Because nothing it emits
 * is a control character, an ESC sequence can never be completed across two sanitised pieces.
 * The price: an emoji built with a zero-width joiner (U+200D) or tag characters shows its pieces and
 * `\u{200d}`, one with a presentation selector shows `\u{fe0f}`; a soft hyphen shows as `\u{ad}`. An
 * invisible character that is not a format character is as good at hiding text (a Hangul filler
 * U+3164 looks like a space and is a letter: `rm\u{3164}` shown as `rm ` names another program). Noncharacters are no text (Unicode keeps them out of
 * interchange), and a parser that reads our output may refuse the whole file for one: PyYAML stops at
 * a U+FFFF even in a comment (a Snakemake profile from `tracer advise`).
 */

/** Regex class text: spaces other than U+0020 (Zs) and the Braille blank U+2800, each passing for a space or for nothing. */
export const LOOKALIKE_SPACES = "\\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000\\u2800";
/** Regex text: a combining mark after the first three on one character (`\p{M}` first: a cheap test for text without marks). */
export const STACKED_MARK = "\\p{M}(?<=\\p{M}{4})";

/** invisible, separating or passing for another: Cf, Cs (lone surrogates), Zl, Zp, lookalike spaces; noncharacters, default-ignorables */
const HIDDEN = `\\p{Cf}\\p{Cs}\\p{Zl}\\p{Zp}\\p{Noncharacter_Code_Point}\\p{Default_Ignorable_Code_Point}${LOOKALIKE_SPACES}`;
/** Characters a terminal may interpret (Cc) or HIDDEN ones; a fourth stacked combining mark. */
const UNSAFE = new RegExp(`[\\p{Cc}${HIDDEN}]|${STACKED_MARK}`, "u");
const UNSAFE_ALL = new RegExp(UNSAFE.source, "gu");
/** the same, but a newline passes (multi-line text: logs, messages) */
const UNSAFE_BUT_NEWLINE = new RegExp(`[^\\n\\P{Cc}]|[${HIDDEN}]|${STACKED_MARK}`, "gu");

const NAMED: Record<string, string> = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };
const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** The visible form of one unsafe character (a whole code point). */
function visible(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const cp = c.codePointAt(0) ?? 0;
  if (cp < 0x80) return `\\x${hex2(cp)}`;
  if (cp >= 0xdc80 && cp <= 0xdcff) return `\\x${hex2(cp - 0xdc00)}`;
  return `\\u{${cp.toString(16)}}`;
}

/**
 * One line of text safe for a terminal: every control, format, separator and lone-surrogate
 * character replaced by its visible escape (table above), tab and newline included. Plain text comes
 * back unchanged (same string, one regex test).
 */
export function sanitize(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_ALL, visible) : text;
}

/** As {@link sanitize}, but newlines pass: for multi-line text such as a log or a message body. */
export function sanitizeLines(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_BUT_NEWLINE, visible) : text;
}
