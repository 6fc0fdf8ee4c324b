#!/usr/bin/env bun
/**
 * Turn bun test's JUnit XML into the plain closing line CI reads: "N passed, N failed[, N skipped]",
 * after each failed test's name, file:line and assertion message (the tail of CI's output is often
 * all that is kept, and bun prints the messages far above it).
 */
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? ".ci-out/junit.xml";
let xml = "";
try {
  xml = readFileSync(file, "utf8");
} catch (e) {
  console.log(`cannot read ${file}: ${(e as Error).message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];
/** XML text: the 5 named entities and numeric ones (bun writes a tab as &#9;) */
const NAMED: Record<string, string> = { quot: '"', apos: "'", lt: "<", gt: ">", amp: "&" };
const xmlText = (s: string) =>
  s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|quot|apos|lt|gt|amp);/g, (_, e: string) => {
    if (e[0] !== "#") return NAMED[e]!;
    const code = e[1] === "x" ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
    if (code === 13) return "";
    return code <= 0x10ffff ? String.fromCodePoint(code) : `&${e};`;
  });
/** a failure's message: at most 25 lines of 200 characters */
const excerpt = (msg: string) =>
  xmlText(msg)
    .split("\n")
    .filter((l) => l.trim())
    .slice(0, 25)
    .map((l) => `    ${l.slice(0, 200)}`)
    .join("\n");
for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
  const attrs = m[1] ?? "";
  const body = m[3] ?? "";
  if (/<(failure|error)\b/.test(body)) {
    failed++;
    const attr = (k: string) => new RegExp(`\\b${k}="([^"]*)"`).exec(attrs)?.[1];
    const where = attr("file") ? ` (${attr("file")}${attr("line") ? `:${attr("line")}` : ""})` : "";
    const message = /<(?:failure|error)\b[^>]*\bmessage="([^"]*)"/.exec(body)?.[1];
    failures.push(`${xmlText(attr("name") ?? "?")}${where}${message ? `\n${excerpt(message)}` : ""}`);
  } else if (/<skipped\b/.test(body)) skipped++;
  else passed++;
}
for (const f of failures) console.log(`FAILED: ${f}`);
if (passed + failed === 0) {
  console.log("no test ran");
  console.log("0 passed, 1 failed");
  process.exit(1);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
