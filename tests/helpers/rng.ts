/**
 * A small deterministic generator (xorshift32), so a failure replays: `rng(seed)` gives `(n) => an
 * integer in [0, n)`.
 */
export function rng(seed: number): (n: number) => number {
  let x = seed;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}
