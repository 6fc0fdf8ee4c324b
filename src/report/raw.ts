/**
 * `tracer report --json`: the raw run row and every process row of the run (docs/CLI.md), written in
 * chunks. The text is JSON.stringify({ run, processes }, null, 2) made terminal-safe (src/core/json.ts)
 * and a newline, as printJson writes it, streamed a page of rows at a time, never held whole (100,000
 * processes: one string of ~60 MB and every row object before): in row id order when that is start
 * order, else a page of the next ids in start order at a time.
 */
import type { Database } from "bun:sqlite";
import { escapeJson, jsonText } from "../core/json.ts";
import { fullCollector } from "../core/young.ts";
import type { RunRow } from "../store/index.ts";
import { eachProcess, inStartOrder, listProcesses } from "../store/scan.ts";
import { chunks } from "./_chunks.ts";

/**
 * characters written between two full collections: the pieces' text is freed only when its strings are
 * swept (young collections every 2,000 rows: 176 MB peak RSS at 100,000 processes; a full one every
 * 10,000 rows, ~8.5 M characters of them: 84–86 MB, no slower, 2026-11-30). By rows, whatever their
 * size, 5,000 rows of 64 KB command lines peaked at 1.2 GB; by what was written, a long row counts
 * for what it leaves.
 */
const COLLECT_CHARS = 8 * 2 ** 20;
/** rows stringified at once: at most this many, or rows of PIECE_CHARS characters of command lines */
const ROWS_PER_PIECE = 512;
const PIECE_CHARS = 2 ** 20;
const EMPTY = '"processes": []';
const PIECE_HEAD = '{\n  "processes": [\n';
const PIECE_TAIL = "\n  ]\n}";

/** The raw JSON of `run` and its processes (in start order, as listProcesses) written to `out`. */
export function writeRawJson(db: Database, run: RunRow, out: (chunk: string) => void): void {
  // one read snapshot for the order's check and every page: a run still recorded gains rows meanwhile,
  // and one that started earlier than those streamed already would land out of start order
  if (db.inTransaction) {
    writeSnapshot(db, run, out);
    return;
  }
  db.exec("BEGIN");
  try {
    writeSnapshot(db, run, out);
  } finally {
    db.exec("COMMIT");
  }
}

function writeSnapshot(db: Database, run: RunRow, out: (chunk: string) => void): void {
  const text = jsonText({ run, processes: [] });
  // the last key: a string's quotes are escaped, and the run row's own `processes` is a number
  const at = text.lastIndexOf(EMPTY);
  if (at < 0) {
    out(`${jsonText({ run, processes: listProcesses(db, run.id) })}\n`);
    return;
  }
  const add = chunks(out);
  const collect = fullCollector(COLLECT_CHARS);
  let piece: unknown[] = [];
  let pieceChars = 0;
  let pieces = 0;
  const flush = () => {
    // nested as the whole would nest them: each row indented 4 spaces, its fields 6
    const json = JSON.stringify({ processes: piece }, null, 2);
    add(
      `${pieces++ ? ",\n" : `${text.slice(0, at)}"processes": [\n`}${escapeJson(json.slice(PIECE_HEAD.length, json.length - PIECE_TAIL.length))}`,
    );
    piece = [];
    pieceChars = 0;
    collect(json.length);
  };
  eachProcess(
    db,
    run.id,
    (row, argvText) => {
      piece.push(row);
      pieceChars += (argvText?.length ?? 0) + (row.priorArgv ? row.priorArgv.join("").length : 0);
      if (piece.length === ROWS_PER_PIECE || pieceChars >= PIECE_CHARS) flush();
    },
    // a recorded run's rows are written at each flush, not quite in start order: a page of the next
    // ids in start order at a time, never every row held (100,000 of 2 KB argv: 1.1 GB)
    !inStartOrder(db, run.id),
  );
  if (piece.length) flush();
  if (!pieces) out(`${text}\n`);
  else {
    add(`\n  ]${text.slice(at + EMPTY.length)}\n`);
    add.end();
  }
}
