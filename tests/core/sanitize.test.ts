/**
 * The output-sanitising layer (src/core/sanitize.ts), the lossless byte decoding (src/core/lossless.ts)
 * and a property test: random bytes — every C0/C1 control, ESC sequences, bidi controls, invisible
 * format characters, invalid UTF-8 — through every text sink (report table, process table, runs, run
 * header, the run summary line, CSV, Nextflow TSV, HTML, the logs reader, the daemon log) and the
 * exact ones (JSON, the store).
 */
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lastLines } from "../../src/core/tail.ts";
import { decodeLossless, encodeLossless } from "../../src/core/lossless.ts";
import { sanitize, sanitizeLines } from "../../src/core/sanitize.ts";
import { csvField, defuseFormula } from "../../src/report/csv.ts";
import { NEXTFLOW_COLUMNS, buildReport, renderReport } from "../../src/report/index.ts";
import { runHeader, runsTable, summaryLine } from "../../src/run/format.ts";
import { processTable } from "../../src/run/proctable.ts";
import type { Step, StepProcess } from "../../src/steps/index.ts";
import {
  StoreWriter,
  createRun,
  findRun,
  listProcesses,
  openStore,
  type ProcessRow,
  type RunRow,
} from "../../src/store/index.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

/** A seeded generator in [0, 1): the same inputs every run, so a failure reproduces. */
function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) / 2 ** 24;
  };
}

/** Anything a terminal could act on or that hides text: C0, DEL, C1, Cf (bidi, zero-width), Zl/Zp, lone surrogates; noncharacters, default-ignorables. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}\p{Default_Ignorable_Code_Point}]/u;
/** the same on the bytes written: ESC, any C0 but \n, DEL, C1 as UTF-8 (C2 80–9F), or a raw 0x9B */
const unsafeBytes = (s: string, allowNewline: boolean) => {
  const b = Buffer.from(s, "utf8");
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if ((c < 0x20 && !(allowNewline && c === 10)) || c === 0x7f) return `byte 0x${c.toString(16)} at ${i}`;
    if (c === 0xc2 && b[i + 1]! >= 0x80 && b[i + 1]! <= 0x9f) return `C1 at ${i}`;
  }
  return undefined;
};

test("sanitize: escapes shown visibly, plain text unchanged, idempotent", () => {
  expect(sanitize("samtools \x1b]0;PWNED\x07\x1b[2J\x1b[31mRED")).toBe(
    "samtools \\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mRED",
  );
  expect(sanitize("a\tb\nc\rd\x00e\x7f")).toBe("a\\tb\\nc\\rd\\x00e\\x7f");
  expect(sanitize("\u009b31m \u009d0;x")).toBe("\\u{9b}31m \\u{9d}0;x");
  // bidi overrides and isolates, marks, zero-width and other invisible format characters
  expect(sanitize("a\u202eb\u202ac\u2066d\u2069e\u200ef\u200bg\u2060h\ufeffi\u00adj")).toBe(
    "a\\u{202e}b\\u{202a}c\\u{2066}d\\u{2069}e\\u{200e}f\\u{200b}g\\u{2060}h\\u{feff}i\\u{ad}j",
  );
  expect(sanitize("x\u2028y\u2029")).toBe("x\\u{2028}y\\u{2029}");
  // noncharacters: no text, and a YAML reader refuses a file holding one (even in a comment)
  expect(sanitize("a\uffffb\ufffec\ufdd0d\u{10ffff}")).toBe("a\\u{ffff}b\\u{fffe}c\\u{fdd0}d\\u{10ffff}");
  // invisible default-ignorables that are not format characters: a Hangul filler (a letter that looks
  // like a space), the combining grapheme joiner, variation selectors (an emoji's too)
  expect(sanitize("rm\u3164 -rf")).toBe("rm\\u{3164} -rf");
  expect(sanitize("a\u034fb\ufe0fc\u{e0100}d\u115fe\u180bf")).toBe(
    "a\\u{34f}b\\u{fe0f}c\\u{e0100}d\\u{115f}e\\u{180b}f",
  );
  expect(sanitizeLines("x\u3164\ny")).toBe("x\\u{3164}\ny");
  // spaces that are not U+0020 pass for one (or for nothing): `samtools\u{a0}sort` is another program
  // than `samtools sort`; each named (attack)
  expect(sanitize("samtools\u00a0sort bwa\u3000mem a\u2003b c\u202fd e\u205ff g\u1680h rm\u2800")).toBe(
    "samtools\\u{a0}sort bwa\\u{3000}mem a\\u{2003}b c\\u{202f}d e\\u{205f}f g\\u{1680}h rm\\u{2800}",
  );
  // stacked combining marks draw over the lines around ("Zalgo"): up to three on a character stay
  // (Vietnamese, Devanagari, Tibetan stacks), the fourth and later are named
  expect(sanitize(`z${"\u0336".repeat(3)}${"\u0489".repeat(3)}`)).toBe(
    `z${"\u0336".repeat(3)}\\u{489}\\u{489}\\u{489}`,
  );
  for (const fine of ["Tiếng Việt", "e\u0301\u0302\u0303", "नमस्ते", "ཀྵྭྱ"]) expect(sanitize(fine)).toBe(fine);
  const zalgo = sanitize(`z${"\u0489".repeat(100)}`);
  expect(sanitize(zalgo)).toBe(zalgo);
  // a byte that was not UTF-8 as \xNN; any other lone surrogate as \u{…}
  expect(sanitize(decodeLossless(Uint8Array.from([0x61, 0xff, 0xc3])))).toBe("a\\xff\\xc3");
  expect(sanitize("\ud800 \udfff")).toBe("\\u{d800} \\u{dfff}");
  const plain = "bwa mem -t 8 ref.fa reads_1.fq — séquence 😀 日本";
  expect(sanitize(plain)).toBe(plain);
  const once = sanitize("\x1b[2J\u202e\t");
  expect(sanitize(once)).toBe(once);
  expect(sanitizeLines("one\x1b[2J\ntwo\tthree\n")).toBe("one\\x1b[2J\ntwo\\tthree\n");
});

test("lossless decoding: every byte string round-trips; valid UTF-8 decodes as usual", () => {
  const cases: [number[], string][] = [
    [[0xff], "\udcff"],
    [[0xc3, 0x28], "\udcc3("], // bad continuation
    [[0xe0, 0x80, 0xaf], "\udce0\udc80\udcaf"], // overlong
    [[0xed, 0xa0, 0x80], "\udced\udca0\udc80"], // an encoded surrogate
    [[0xf4, 0x90, 0x80, 0x80], "\udcf4\udc90\udc80\udc80"], // above U+10FFFF
    [[0xf0, 0x9f, 0x98, 0x61], "\udcf0\udc9f\udc98a"], // truncated emoji
  ];
  for (const [bytes, text] of cases) {
    expect(decodeLossless(Uint8Array.from(bytes))).toBe(text);
    expect([...encodeLossless(text)]).toEqual(bytes);
  }
  expect(decodeLossless(Buffer.from("séquence 😀"))).toBe("séquence 😀");
  const rnd = seeded(1);
  for (let t = 0; t < 5000; t++) {
    const b = Uint8Array.from({ length: Math.floor(rnd() * 24) }, () => Math.floor(rnd() * 256));
    expect(Buffer.compare(Buffer.from(encodeLossless(decodeLossless(b))), Buffer.from(b))).toBe(0);
  }
});

test("CSV cells: OWASP formula rule (also after leading whitespace), no raw tab/newline, numbers stay numbers", () => {
  expect(csvField('=HYPERLINK("http://x","y").py')).toBe(`"'=HYPERLINK(""http://x"",""y"").py"`);
  for (const lead of ["+", "-", "@", "\t", "\r", "\uff1d"])
    expect(csvField(`${lead}1`).startsWith(`"'`)).toBe(true);
  expect(csvField("  =1+1")).toBe(`"'  =1+1"`);
  expect(csvField("\n=1")).toBe(`"'\\n=1"`);
  expect(csvField("a\tb\nc")).toBe("a\\tb\\nc");
  expect(csvField("a,b")).toBe('"a,b"');
  expect(csvField(-3)).toBe("-3");
  expect(csvField(null)).toBe("");
  expect(csvField("bwa mem")).toBe("bwa mem");
  // a quote before the formula: a reader that honours quotes (the Nextflow trace has none of its own)
  // reads `"=1+1"` as =1+1 (an attack, 2 Dec 2026)
  expect(defuseFormula('"=1+1"')).toBe(`'"=1+1"`);
  expect(defuseFormula(' " @SUM(1)')).toBe(`' " @SUM(1)`);
  expect(defuseFormula('say "=1"')).toBe('say "=1"');
});

// ---- the property test --------------------------------------------------------------------------

const rnd = seeded(0x5eed);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const NASTY = [
  "\x1b]0;PWNED\x07",
  "\x1b[2J",
  "\x1b[31m",
  "\x1bP1$r\x1b\\",
  "\x1b]8;;http://x\x1b\\",
  "\u009b2J",
  "\u009d0;t\u009c",
  "\u202e",
  "\u2066",
  "\u2069",
  "\u200b",
  "\ufeff",
  "\u2028",
  "\u3164",
  "\ufe0f",
  "\u034f",
  "\t",
  "\n",
  "\r\n",
  '"',
  ",",
  "=",
  "+1",
  "@x",
  "-",
  "\\",
  "\ud800",
];
/** A random string: random bytes (every C0/C1 value, invalid UTF-8) decoded losslessly, mixed with known-nasty pieces. */
function hostile(): string {
  const parts: string[] = [];
  for (let i = Math.floor(rnd() * 6); i >= 0; i--) {
    if (rnd() < 0.5) parts.push(pick(NASTY));
    else {
      const b = Uint8Array.from({ length: 1 + Math.floor(rnd() * 12) }, () =>
        rnd() < 0.5 ? Math.floor(rnd() * 0x20) : Math.floor(rnd() * 256),
      );
      parts.push(decodeLossless(b));
    }
    if (rnd() < 0.3) parts.push(String.fromCodePoint(0x80 + Math.floor(rnd() * 0x20)));
  }
  return parts.join("");
}

/** What the kernel can hand us: random bytes (ESC, C0, C1 bytes, invalid UTF-8), decoded losslessly. */
const kernelText = () =>
  decodeLossless(Uint8Array.from({ length: 1 + Math.floor(rnd() * 16) }, () => Math.floor(rnd() * 256)));

function fakeRun(): RunRow {
  return {
    id: `0000-${hostile()}`,
    name: hostile(),
    pipeline: hostile(),
    command: [hostile(), hostile()],
    cwd: hostile(),
    host: hostile(),
    mode: "connector",
    recorderPid: 1,
    startedAt: 1_700_000_000_000,
    endedAt: 1_700_000_005_000,
    exitCode: 0,
    signal: null,
    eventsLost: 1,
    lossReasons: { [hostile()]: 1 },
    status: "done",
    processes: 3,
  };
}

function fakeProcess(id: number, parentId: number | null): ProcessRow & StepProcess {
  return {
    id,
    pid: 100 + id,
    startTicks: id,
    ppid: null,
    parentId,
    comm: hostile(),
    argv: rnd() < 0.2 ? null : [hostile(), hostile()],
    argvBytes: null,
    argvTruncated: false,
    cwd: hostile(),
    startedAt: 1_700_000_000_000 + id,
    endedAt: 1_700_000_001_000 + id,
    durationUs: 1000,
    exitCode: 0,
    signal: null,
    coreDumped: false,
    oomKilled: false,
    oomLimitKb: null,
    userUs: 1,
    systemUs: 1,
    peakRssKb: 1,
    rchar: 1,
    wchar: 1,
    readBytes: 1,
    writeBytes: 1,
    figures: null,
  };
}

function fakeStep(i: number): Step {
  return {
    index: i,
    key: `nextflow-task:${i}`,
    name: hostile(),
    kind: "nextflow-task",
    tool: hostile(),
    tools: [hostile()],
    rootId: i,
    pid: i,
    command: hostile(),
    workdir: `/w/${hostile()}/${hostile()}`,
    processIds: [i],
    startedAt: 1_700_000_000_000,
    endedAt: 1_700_000_001_000,
    durationMs: 1000,
    cpuUs: 10,
    peakRssKb: 1,
    peakRssUpperKb: 2,
    peakRssExact: false,
    rchar: 0,
    wchar: 0,
    readBytes: 0,
    writeBytes: 0,
    exitCode: 1,
    signal: null,
    oomKilled: false,
    failed: true,
  };
}

/** RFC 4180 parse (quoted fields may hold `""`); the sanitised output has no raw newline inside a field. */
function parseCsv(text: string): string[][] {
  return text
    .split("\r\n")
    .slice(0, -1)
    .map((line) => {
      const out: string[] = [];
      const re = /("(?:[^"]|"")*"|[^,]*)(,|$)/y;
      for (let m = re.exec(line); m; m = re.exec(line)) {
        out.push(m[1]!);
        if (!m[2]) break;
      }
      return out;
    });
}

test("property: random hostile data through every sink — no raw control reaches the output; rows and columns hold", () => {
  const dir = tempDir();
  const db = openStore(join(dir, "tracer.db"));
  for (let round = 0; round < 150; round++) {
    const run = fakeRun();
    const procs = [fakeProcess(1, null), fakeProcess(2, 1), fakeProcess(3, 2)];
    const steps = [fakeStep(1), fakeStep(2)];
    const report = buildReport({ run, processes: procs, steps, system: [] });

    // one-line sinks: no control at all, newline included, per line of output
    const table = renderReport(report, "table");
    // the HTML report's text: no raw control or invisible character outside its own markup
    // (with the process tree by step: hostile argv in its rows too)
    const html = renderReport(buildReport({ run, processes: procs, steps, system: [] }, true), "html");
    expect(unsafeBytes(html, true)).toBeUndefined();
    expect(/[\p{Cf}\p{Cs}\u2028\u2029\p{Default_Ignorable_Code_Point}]/u.test(html)).toBe(false);
    const summary = summaryLine({
      runId: run.id,
      name: run.name,
      processes: 3,
      mode: "connector",
      lost: 1,
      child: { startedAt: 0, endedAt: 1000, exitCode: 0 },
    });
    expect(summary.split("\n")).toHaveLength(1);
    for (const out of [table, processTable(run, procs), runsTable([run]).text, runHeader(run), summary]) {
      expect(unsafeBytes(out, true)).toBeUndefined();
      expect(UNSAFE.test(out.replace(/\n/g, ""))).toBe(false);
    }
    // the table: the run header (6 lines), totals (3: totals, I/O, steps), blank, head + one line per step, blank, and the
    // note on sampled peaks (blank + one line: the fake steps' peaks are not exact)
    expect(table.split("\n")).toHaveLength(6 + 3 + 1 + 1 + steps.length + 1 + 2);
    expect(processTable(run, procs).split("\n")).toHaveLength(1 + procs.length);
    expect(runsTable([run]).text.split("\n")).toHaveLength(2);

    // CSV: CRLF rows, every row the header's column count, no control in any cell
    const csv = renderReport(report, "csv");
    expect(unsafeBytes(csv.replace(/\r\n/g, ""), false)).toBeUndefined();
    const rows = parseCsv(csv);
    expect(rows).toHaveLength(1 + steps.length);
    for (const r of rows) expect(r).toHaveLength(rows[0]!.length);
    for (const r of rows.slice(1))
      for (const cell of r) expect(/^\s*[=+\-@]/.test(cell.replace(/^"/, ""))).toBe(false);

    // Nextflow trace: one line per step, exactly its columns
    const tsv = renderReport(report, "nextflow");
    expect(unsafeBytes(tsv.replace(/[\t\n]/g, ""), false)).toBeUndefined();
    const lines = tsv.split("\n").slice(0, -1);
    expect(lines).toHaveLength(1 + steps.length);
    for (const l of lines) expect(l.split("\t")).toHaveLength(NEXTFLOW_COLUMNS.length);

    // JSON keeps the exact data: parsed back, every string is what went in (lone surrogates included)
    const json = JSON.parse(renderReport(report, "json"));
    expect(json.run.name).toBe(run.name);
    expect(json.run.command).toEqual(run.command);
    expect(json.steps.map((s: { name: string }) => s.name)).toEqual(steps.map((s) => s.name));
    expect(json.steps[0].workdir).toBe(steps[0]!.workdir!);

    // the store keeps argv, comm and cwd exactly, down to bytes that are not UTF-8
    const id = `run-${round}`;
    createRun(db, { ...run, id });
    const w = new StoreWriter(db, id);
    const rec = {
      pid: 7,
      startTicks: 1,
      comm: kernelText(),
      argv: [hostile(), kernelText()],
      cwd: kernelText(),
    };
    w.process(rec);
    w.flush();
    const [back] = listProcesses(db, id);
    expect([back!.comm, back!.argv, back!.cwd]).toEqual([rec.comm, rec.argv, rec.cwd]);
    expect(findRun(db, id).command).toEqual(run.command);
  }
  db.close();
});

test("property: the logs reader and the daemon log writer show hostile lines escaped, one line per line", async () => {
  const dir = tempDir();
  const log = join(dir, "daemon.log");
  writeFileSync(log, "");
  const wrote: string[] = [];
  for (let i = 0; i < 200; i++) {
    const line = hostile().replace(/\n/g, "");
    wrote.push(line);
    appendFileSync(log, `${line}\n`);
  }
  const shown = sanitizeLines(lastLines(log, 200).text);
  expect(unsafeBytes(shown, true)).toBeUndefined();
  expect(shown.split("\n").slice(0, -1)).toHaveLength(200);

  // the daemon's own writer (its stderr is the log): one line per event, whatever message and fields hold
  const out = join(dir, "written.log");
  const child = Bun.spawnSync(
    [
      process.execPath,
      "-e",
      `const { log } = await import(${JSON.stringify(require.resolve("../../src/daemon/log.ts"))});
       const msgs = JSON.parse(process.env.MSGS);
       for (const m of msgs) log("info", m, { argv: [m, "x"], name: m });`,
    ],
    { env: { ...process.env, MSGS: JSON.stringify(wrote.slice(0, 50)) }, stderr: Bun.file(out) },
  );
  expect(child.exitCode).toBe(0);
  const written = await Bun.file(out).text();
  expect(unsafeBytes(written, true)).toBeUndefined();
  expect(written.split("\n").slice(0, -1)).toHaveLength(50);
});
