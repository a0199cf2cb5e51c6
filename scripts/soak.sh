#!/usr/bin/env bash
# The memory soak (issue 19): `drover daemon` sweeping every second
# against the emulated forge, its peak and current RSS printed after each
# sweep (each line's peak is that sweep's own: the high-water mark is
# reset after every reading).
#
#   scripts/soak.sh [SWEEPS [REPOS [FORGES]]]     # default: 20 1000 github,gitlab
#
# Done when the last sweep's peak is within 10 % of the second's and every
# peak is under 50 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
export DROVER_BENCH_SOAK="${1:-20}"
export DROVER_BENCH_REPOS="${2:-1000}"
export DROVER_BENCH_FORGES="${3:-github,gitlab}"
exec cargo bench --bench sweep
