#!/usr/bin/env bash
# The main job: setup (idempotent), then boot the default kernel on a few
# topologies and check that the guest sees each one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for topo in 1,2,2,1 2,4,2,1; do
  ./target/debug/ktstr boot --topology "$topo"
  echo
done
