#!/usr/bin/env bash
# The test command: setup (idempotent), formatting, lints, then every test,
# including the VM tests that boot the cached kernel under QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --workspace --no-fail-fast 2>&1
echo "== examples/scheduler-repo (cargo nextest)"
bash scripts/test-example.sh
