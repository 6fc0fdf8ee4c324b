#!/usr/bin/env bash
# Install the Debian packages tracer's tests and benchmarks use as real peers. Idempotent; needs root
# (or sudo). Skips apt entirely when everything is already there.
set -euo pipefail
PKGS=(ca-certificates minisign time tini dumb-init util-linux python3 procps forkstat perl-base openssl curl chromium snakemake bwa samtools gcc libc6-dev tmux groovy)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# apt and dpkg are shared on a machine: wait for another install's locks instead of failing at once.
# `install` waits for the dpkg lock by itself (DPkg::Lock::Timeout); apt 2.6's `update` does not wait for
# the lists lock, so it is retried for up to the same 10 minutes.
APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
for attempt in $(seq 1 120); do
  $SUDO apt-get "${APT_OPTS[@]}" update -qq && break
  [ "$attempt" -eq 120 ] && { echo "apt-get update kept failing for 10 minutes" >&2; exit 1; }
  echo "apt-get update failed (another apt holds its lock?); retrying in 5 s" >&2
  sleep 5
done
$SUDO apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}"
