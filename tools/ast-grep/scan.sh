#!/usr/bin/env bash
# The static-analysis gate (.ci/run, step "static analysis"): every rule in tools/ast-grep/rules (the
# ast-grep twin of .semgrep.yml) over the scan scope. Exits non-zero on any finding that has no inline
# exception, and on any stale `ast-grep-ignore` (a suppression that no longer suppresses anything).
#
# Scope (default): src/ ffi/ scripts/ — the shipped program and the scripts that build and sign it.
# tests/ and bench/ are not scanned: they start shells, use loopback servers and hold the fixtures.
# Usage: tools/ast-grep/scan.sh [PATH...]   (paths relative to the current directory)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
sg="$root/node_modules/.bin/ast-grep"
if ! "$sg" --version >/dev/null 2>&1; then
  # npm ci normally runs @ast-grep/cli's postinstall (it links the native binary from the platform
  # package, no download); with install scripts disabled, use the platform package's binary directly.
  for c in "$root"/node_modules/@ast-grep/cli-*/ast-grep; do
    if "$c" --version >/dev/null 2>&1; then sg="$c"; break; fi
  done
fi
[ "$#" -gt 0 ] || { cd "$root"; set -- src ffi scripts; }
"$sg" --version
exec "$sg" scan --config "$root/sgconfig.yml" --error=unused-suppression --report-style=medium "$@"
