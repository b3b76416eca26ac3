#!/usr/bin/env bash
# Runs examples/scheduler-repo (a scheduler repository using ktstr as a
# library) with cargo-nextest, as a scheduler team's CI would: list, check that
# two partitions together run every case exactly once, then run with the CI
# profile (JUnit). Installs cargo-nextest only where it is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test-example: installing cargo-nextest from crates.io"
  cargo install cargo-nextest --locked
fi
cd "$root/examples/scheduler-repo"
# The example's Cargo.lock pins the workspace's versions and it shares the
# workspace's build directory, so nothing is compiled twice.
export CARGO_TARGET_DIR="$root/target"
list() { cargo nextest list --message-format oneline "$@" 2>/dev/null | sort; }
full="$(list)"
parts="$( (list --partition count:1/2; list --partition count:2/2) | sort)"
if [[ -z "$full" || "$full" != "$parts" ]]; then
  echo "test-example: partitions 1/2 and 2/2 do not add up to the full list" >&2
  diff <(echo "$full") <(echo "$parts") >&2 || true
  exit 1
fi
echo "test-example: $(echo "$full" | wc -l) cases; partitions 1/2 + 2/2 cover each exactly once"
# Every case stores its run record (and its baseline's) in the shared store.
ktstr="$root/target/debug/ktstr"
stored() {
  "$ktstr" results list origin=harness --json --results "$root/target/ktstr" |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}
before="$(stored)"
cargo nextest run --profile ci
after="$(stored)"
# 2 topologies + (record + baseline) + 1 + 1
if (( after - before != 6 )); then
  echo "test-example: expected 6 new harness run records in $root/target/ktstr, found $((after - before))" >&2
  exit 1
fi
echo "test-example: 6 run records stored in $root/target/ktstr (ktstr results list origin=harness)"
echo "test-example: JUnit in $PWD/target/nextest/ci/junit.xml"
