/**
 * A count with its noun, singular for exactly one: `plural(1, "process", "processes")` → "1 process",
 * `plural(0, "step")` → "0 steps". Every count tracer prints in a sentence goes through here.
 */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
