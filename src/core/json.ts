/**
 * JSON text that is safe to show on a terminal: every JSON tracer prints or writes (`--json`,
 * `report --format json`, `advise --format json`) goes through here.
 *
 * JSON.stringify escapes C0 controls and lone surrogates but writes DEL, C1 controls (U+0080–U+009F:
 * CSI U+009B, OSC U+009D, …), format characters (Cf: bidi overrides and isolates U+202A–202E and
 * U+2066–2069, zero-width U+200B–200D, U+FEFF, soft hyphen, tags) and the line/paragraph separators
 * U+2028/U+2029 raw, noncharacters (U+FFFF: a YAML reader, which takes JSON too, refuses a file
 * holding one) and the other default-ignorable characters (invisible: Hangul filler U+3164, variation
 * selectors, combining grapheme joiner U+034F). Recorded data is attacker-controlled and JSON is often read with `cat` or `less`,
 * so those — the characters src/core/sanitize.ts escapes that JSON.stringify leaves — are written as
 * `\uXXXX` (a character outside the BMP as its surrogate pair, `\udb40\udc01`). Such a character can
 * only stand inside a JSON string (between tokens there is only whitespace and punctuation), where
 * `\uXXXX` means the same character: JSON.parse gives back exactly the value given.
 */
import { LOOKALIKE_SPACES, STACKED_MARK } from "./sanitize.ts";

/**
 * What JSON.stringify leaves raw and a terminal may act on, hide or pass off as another: DEL, C1, Cf,
 * Zl, Zp, lookalike spaces, a fourth and later stacked combining mark; noncharacters, default-ignorables
 * (src/core/sanitize.ts's set, short of what JSON.stringify escapes itself: C0 and lone surrogates).
 */
const RISKY = new RegExp(
  `[\\x7f-\\x9f\\p{Cf}\\p{Zl}\\p{Zp}\\p{Noncharacter_Code_Point}\\p{Default_Ignorable_Code_Point}${LOOKALIKE_SPACES}]|${STACKED_MARK}`,
  "u",
);
const RISKY_ALL = new RegExp(RISKY.source, "gu");

const u4 = (c: string): string => {
  let out = "";
  for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`;
  return out;
};

/**
 * JSON text (from JSON.stringify, whole or in pieces) with the risky characters above written as
 * `\uXXXX`. Text without them comes back unchanged (one regex test).
 */
export const escapeJson = (json: string): string => (RISKY.test(json) ? json.replace(RISKY_ALL, u4) : json);

/** `value` as JSON text (indented by `indent` spaces; 0: one line), terminal-safe (escapeJson). */
export const jsonText = (value: unknown, indent = 2): string =>
  escapeJson(JSON.stringify(value, null, indent || undefined));
