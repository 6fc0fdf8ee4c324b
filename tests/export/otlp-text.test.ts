/**
 * Recorded text sent over OTLP, through the real binary to a loopback collector that keeps the raw
 * bodies: a cwd holding the byte 0xff and an ESC sequence, a comm set with prctl(PR_SET_NAME) to the
 * byte 0xfe and an OSC sequence. OTLP strings are protobuf strings (valid UTF-8 only): a lone surrogate
 * (how tracer keeps a byte that is not UTF-8) gets the batch refused, and a refused batch is dropped.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { BIN, cleanupTemp, ensureBuilt, isolatedEnv, tempDir } from "../helpers/harness.ts";

beforeAll(ensureBuilt);
afterAll(cleanupTemp);

/** Every string in a parsed JSON value (keys included). */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      strings(x, out);
    }
  return out;
}

/** C0 controls, DEL and C1 controls: what a terminal showing a collector's debug output acts on */
const rawControl = (s: string) => /[\x00-\x1f\x7f-\x9f]/.test(s);

test("OTLP strings are valid UTF-8 with no raw control character: a cwd and a comm holding non-UTF-8 bytes and ESC sequences are sent as the terminal shows them", async () => {
  const bodies: string[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      bodies.push(await req.text());
      return Response.json({});
    },
  });
  try {
    const base = tempDir();
    // the directory d<0xff><ESC>[31m, made from bytes (no JS string names it)
    mkdirSync(Buffer.concat([Buffer.from(`${base}/d`), Buffer.from([0xff]), Buffer.from("\x1b[31m")]));
    const env = isolatedEnv();
    // sh enters that directory (so the run's cwd and its processes' hold the bytes), then python sets
    // its comm to c<0xfe><OSC 0;X BEL> and lives long enough to be read
    const py = `import ctypes,time
ctypes.CDLL(None).prctl(15, b"c\\xfe\\x1b]0;X\\x07", 0, 0, 0)
time.sleep(0.5)`;
    const script = `cd "$(printf 'd\\377\\033[31m')" && exec "$0" run --name hostile --otlp-endpoint "$1" --otlp-insecure -- python3 -c "$2"`;
    const p = Bun.spawn(["sh", "-c", script, BIN, `http://127.0.0.1:${server.port}`, py], {
      env,
      cwd: base,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect({ code, stderr }).toMatchObject({
      code: 0,
      stderr: expect.stringMatching(/otlp: (\d+) of \1 spans sent/),
    });

    const traces = bodies.map((b) => JSON.parse(b)).filter((b) => b.resourceSpans);
    expect(traces.length).toBeGreaterThan(0);
    const sent = [...new Set(traces.flatMap((t) => strings(t)))];
    expect(sent.filter((s) => !s.isWellFormed())).toEqual([]);
    expect(sent.filter(rawControl)).toEqual([]);

    const spans = traces.flatMap((t) =>
      t.resourceSpans.flatMap((r: { scopeSpans: { spans: unknown[] }[] }) =>
        r.scopeSpans.flatMap((s) => s.spans),
      ),
    ) as { name: string; attributes: { key: string; value: { stringValue?: string } }[] }[];
    const attr = (s: (typeof spans)[number], key: string) =>
      s.attributes.find((a) => a.key === key)?.value.stringValue;
    // the bytes are still readable, as the terminal shows them
    const shownDir = `${base}/d\\xff\\x1b[31m`;
    const named = spans.find((s) => s.name === "c\\xfe\\x1b]0;X\\x07");
    expect(named).toBeDefined();
    expect(attr(named!, "process.executable.name")).toBe("c\\xfe\\x1b]0;X\\x07");
    expect(attr(named!, "process.working_directory")).toBe(shownDir);
    const runSpan = spans.find((s) => s.name === "run hostile");
    expect(attr(runSpan!, "process.working_directory")).toBe(shownDir);
  } finally {
    server.stop(true);
  }
});
