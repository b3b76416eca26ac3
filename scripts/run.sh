#!/usr/bin/env bash
# The main job: setup (idempotent), then boot the default kernel on a NUMA
# topology to show what the guest sees, and run the default scenarios under
# EEVDF, the kernel tree's scx_simple and the scx project's scx_bpfland,
# printing each verdict and a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ktstr=./target/debug/ktstr
$ktstr boot --topology 2,4,2,1
echo
exec $ktstr run --scheduler eevdf --scheduler scx_simple --scheduler scx_bpfland@1.1.4 --topology 1,2,2,1
