#!/usr/bin/env bash
# The README's main job: build tracer, trace the bundled demo pipeline with `tracer run`, print its
# report, and write the HTML report; the last line is that file's path.
# TRACER=path uses an existing binary instead of building; state goes to .demo/ in this checkout
# unless TRACER_STATE_DIR says otherwise, so the demo never touches a tracer you already run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${DEMO_OUT:-$root/.demo}
mkdir -p "$out" && chmod 700 "$out"
export TRACER_STATE_DIR=${TRACER_STATE_DIR:-$out/state}
export TRACER_RUNTIME_DIR=${TRACER_RUNTIME_DIR:-$out/run}
if [ -z "${TRACER:-}" ]; then
  export PATH="$root/node_modules/.bin:$PATH"
  bun scripts/build.ts
  TRACER=$root/dist/tracer
fi
# the system python: a version-manager shim (pyenv) would add its own bash processes to the report
if [ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ]; then export PYTHON=/usr/bin/python3; fi
name="demo-$(date -u +%Y%m%dT%H%M%S)"
rc=0
"$TRACER" run --name "$name" --pipeline demo -- demo/pipeline.sh || rc=$?
echo
"$TRACER" report "$name"
html="$out/$name.html"
"$TRACER" report "$name" --format html --output "$html"
echo
echo "tracer is $TRACER: call it by that path, or in this shell: export PATH=\"$(dirname "$TRACER"):\$PATH\""
echo "this run again: TRACER_STATE_DIR=$TRACER_STATE_DIR $TRACER report $name"
echo "HTML report: $html"
exit "$rc"
