/**
 * join, dirname and basename as node:path's POSIX versions compute them, for the modules `tracer run`
 * loads: importing node:path costs ~0.45 ms of its start-up (issue 15). On Windows, node:path itself
 * (its win32 rules), loaded on first use.
 */
type NodePath = typeof import("node:path");
const WIN = process.platform === "win32";
const win = (): NodePath => require("node:path") as NodePath;

/** node's normalizeString for POSIX: resolves `.` and `..` segments, drops empty ones */
function normalizeSegments(path: string, absolute: boolean): string {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else out.push(seg);
  }
  return out.join("/");
}

/** path.posix.normalize */
export function normalize(path: string): string {
  if (WIN) return win().normalize(path);
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const trailing = path.endsWith("/");
  let p = normalizeSegments(path, absolute);
  if (p === "" && !absolute) p = ".";
  if (p !== "" && trailing) p += "/";
  return absolute ? `/${p}` : p;
}

/** path.posix.join: the non-empty parts joined with "/", normalized; "." for none */
export function join(...parts: string[]): string {
  if (WIN) return win().join(...parts);
  // (a loop, not filter: an Array builtin's first use costs `tracer run` ~0.05 ms, issue 15)
  let joined = "";
  for (const p of parts) if (p !== "") joined = joined === "" ? p : `${joined}/${p}`;
  return joined !== "" ? normalize(joined) : ".";
}

/** path.posix.dirname */
export function dirname(path: string): string {
  if (WIN) return win().dirname(path);
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  let end = -1;
  let matched = true;
  for (let i = path.length - 1; i >= 1; --i) {
    if (path[i] === "/") {
      if (!matched) {
        end = i;
        break;
      }
    } else matched = false;
  }
  if (end === -1) return absolute ? "/" : ".";
  if (absolute && end === 1) return "//";
  return path.slice(0, end);
}

/** path.posix.basename (without the suffix argument) */
export function basename(path: string): string {
  if (WIN) return win().basename(path);
  let end = path.length;
  while (end > 0 && path[end - 1] === "/") end--;
  if (end === 0) return "";
  const start = path.lastIndexOf("/", end - 1) + 1;
  return path.slice(start, end);
}
