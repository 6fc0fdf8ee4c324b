/**
 * File flags Node's fs.constants does not expose. Bun already opens every fd close-on-exec, but we say
 * so explicitly where it matters (the spawn fd, locks, the log), so the intent survives a runtime change.
 */
export const O_CLOEXEC =
  process.platform === "linux" ? 0o2000000 : process.platform === "darwin" ? 0x1000000 : 0;
export const S_ISVTX = 0o1000;
