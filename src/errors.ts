/** Exit codes, documented in the README. */
export const Exit = {
  ok: 0,
  error: 1,
  usage: 2,
  refused: 3, // a security check said no
  notRunning: 4, // no daemon answers
  alreadyRunning: 5,
  versionMismatch: 6,
  regression: 7, // tracer diff --fail-on-regression: a step grew past the limit or newly failed, a step only in B failed, or the run newly failed or was aborted
  nothingCompared: 8, // tracer diff --fail-on-regression: no step matched (and nothing regressed), so nothing was checked
  // 10–20: signature checks, one code per way a check fails (src/release/_errors.ts SigExit)
  sigFileModified: 10,
  sigCorrupt: 11,
  sigCommentTampered: 12,
  sigWrongKeyId: 13,
  sigUnknownKey: 14,
  sigRevokedKey: 15,
  sigLegacy: 16,
  sigMalformed: 17,
  sigWrongFile: 18,
  sigWrongVersion: 19,
  sigDowngrade: 20,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

/** The one user-facing error: a stable code, a clean message, an exit code, and the lower error as cause. */
export class TracerError extends Error {
  override readonly name = "TracerError";
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode = Exit.error,
    options?: { cause?: unknown; hint?: string; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options?.hint;
    this.details = options?.details;
  }
  readonly hint: string | undefined;
  /** extra fields for `--json` errors (e.g. the candidates of an ambiguous run reference) */
  readonly details: Record<string, unknown> | undefined;
}

export const refused = (code: string, message: string, hint?: string) =>
  new TracerError(code, message, Exit.refused, { hint });

/** Words for the errno codes a file read meets, as strerror(3) puts them. */
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a component of the path is not a directory",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
  EIO: "input/output error",
};

/** Why a file operation failed, in words (`no such file or directory`), else the error's own message. */
export const errnoText = (e: unknown): string => {
  const code = errnoOf(e);
  return (code && ERRNO_TEXT[code]) ?? (e as Error).message;
};

export function errnoOf(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e
    ? String((e as { code: unknown }).code)
    : undefined;
}
