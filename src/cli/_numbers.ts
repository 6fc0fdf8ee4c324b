/**
 * Numeric option values, checked the same way by every command: plain decimal digits only (no hex,
 * no `Infinity`, no blank), inside a stated range; anything else is E_USAGE (exit 2) quoting the flag.
 */
import { Exit, TracerError } from "../errors.ts";

const WHOLE = /^\d+$/;
const DECIMAL = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export const bad = (flag: string, what: string, v: string) =>
  new TracerError("E_USAGE", `${flag} must be ${what}, got ${JSON.stringify(v)}`, Exit.usage);

/**
 * A whole number in [min, max] (max defaults to Number.MAX_SAFE_INTEGER), or undefined when `v` is.
 * @throws TracerError E_USAGE (exit 2) otherwise.
 */
export function wholeOption(
  flag: string,
  v: string | undefined,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.trim());
  if (!WHOLE.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw bad(
      flag,
      max === Number.MAX_SAFE_INTEGER ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`,
      v,
    );
  return n;
}

/**
 * A finite decimal number (`12`, `0.5`, `1e3`) in [min, max], or undefined when `v` is; `what` names
 * it in the error ("a number", "a percentage").
 * @throws TracerError E_USAGE (exit 2) otherwise.
 */
export function decimalOption(
  flag: string,
  v: string | undefined,
  { min = 0, max, what = "a number" }: { min?: number; max: number; what?: string },
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.trim());
  if (!DECIMAL.test(v.trim()) || !Number.isFinite(n) || n < min || n > max)
    throw bad(flag, `${what} from ${min} to ${max}`, v);
  return n;
}
