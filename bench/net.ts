#!/usr/bin/env bun
/**
 * Guarded request vs plain fetch against the same loopback server, in the same run.
 * Prints per-request medians, the ratio and the absolute overhead (target: ≤ 1 ms per request).
 * Usage: bun bench/net.ts [requests per variant, default 2000]
 */
import { createNetClient } from "../src/net/client.ts";

const N = Number(process.argv[2] ?? 2000);
const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json({ ok: true }) });
const url = `http://127.0.0.1:${server.port}/v1/traces`;
const named = `http://localhost:${server.port}/v1/traces`;
const guarded = createNetClient({ allowHttp: true, allowLoopback: true, retries: 0 });

type Variant = [name: string, once: () => Promise<unknown>];
const variants: Variant[] = [
  ["plain fetch (IP literal)", async () => (await fetch(url)).text()],
  ["guarded fetch (IP literal)", async () => (await guarded.fetch(url)).text()],
  ["guarded fetch (name, system resolver)", async () => (await guarded.fetch(named)).text()],
  ["guarded ofetch request() JSON", () => guarded.request(url)],
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const results: Record<string, number> = {};
for (const round of [0, 1]) {
  // Interleave rounds so drift (CPU frequency, GC) hits every variant alike; keep the second round.
  for (const [name, once] of variants) {
    for (let i = 0; i < 200; i++) await once();
    const t: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await once();
      t.push(performance.now() - t0);
    }
    if (round === 1) results[name] = median(t);
  }
}
server.stop(true);

const base = results[variants[0]![0]]!;
console.log(`requests per variant: ${N} (median per request)`);
for (const [name] of variants) {
  const m = results[name]!;
  console.log(
    `${name.padEnd(40)} ${(m * 1000).toFixed(0).padStart(6)} µs  ×${(m / base).toFixed(2)}  overhead ${((m - base) * 1000).toFixed(0)} µs`,
  );
}
const worst = Math.max(...variants.slice(1).map(([n]) => results[n]! - base));
console.log(
  `worst overhead vs plain fetch: ${(worst * 1000).toFixed(0)} µs (target ≤ 1000 µs) ${worst <= 1 ? "OK" : "OVER"}`,
);
