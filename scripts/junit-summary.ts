#!/usr/bin/env bun
/** Turn bun test's JUnit XML into the plain closing line CI reads: "N passed, N failed[, N skipped]". */
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
for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
  const attrs = m[1] ?? "";
  const body = m[3] ?? "";
  if (/<(failure|error)\b/.test(body)) {
    failed++;
    failures.push(/name="([^"]*)"/.exec(attrs)?.[1] ?? "?");
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
