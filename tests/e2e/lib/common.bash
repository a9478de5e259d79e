# Shared helpers of the end-to-end tests (sourced, not run: CTest only runs tests/e2e/*.sh).
# Environment (set by tests/CMakeLists.txt): MITHRIL_BIN (built tools), PYTHON (a python with numpy).
set -euo pipefail

: "${MITHRIL_BIN:?MITHRIL_BIN must name the folder of the built tools}"
PYTHON=${PYTHON:-/usr/bin/python3}
SAVE="$MITHRIL_BIN/mithril-save"
LOAD="$MITHRIL_BIN/mithril-load"
CONVERT="$MITHRIL_BIN/mithril-convert"
RUN="$MITHRIL_BIN/mithril-run"

# The tools were built with AddressSanitizer (scripts/test-sanitizers): some checks adapt.
# Not `ldd | grep -q`: grep -q exits at the first match, ldd may then die of SIGPIPE, and under
# pipefail the pipeline fails at random (ASan runs lost their adaptations that way).
sanitized() { [[ $(ldd "$RUN" 2>/dev/null) == *libasan* ]]; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mithril-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

failures=0
checks=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect CODE CMD...: runs CMD, checks its exit code; stdout in $WORK/out, stderr in $WORK/err.
expect() {
  local code=$1
  shift
  checks=$((checks + 1))
  local rc=0
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  if [[ $rc -ne $code ]]; then
    fail "exit $rc (expected $code): $*"
    sed 's/^/    stderr: /' "$WORK/err" | head -5 >&2
  fi
}

# expect_error FRAGMENT... -- CMD...: CMD must exit 2 with exactly one line on stderr, of the
# form "<tool>: error: ...", containing every FRAGMENT.
expect_error() {
  local fragments=()
  while [[ $1 != -- ]]; do
    fragments+=("$1")
    shift
  done
  shift
  expect 2 "$@"
  local lines
  lines=$(wc -l <"$WORK/err")
  if [[ $lines -ne 1 ]]; then
    fail "expected one line on stderr, got $lines: $*"
    sed 's/^/    stderr: /' "$WORK/err" | head -5 >&2
  fi
  if ! grep -q "^mithril-[a-z]*: error: " "$WORK/err"; then
    fail "stderr does not start with '<tool>: error: ': $*"
  fi
  for f in "${fragments[@]}"; do
    if ! grep -qF -- "$f" "$WORK/err"; then
      fail "stderr lacks '$f': $*"
      sed 's/^/    stderr: /' "$WORK/err" | head -5 >&2
    fi
  done
}

# contains FILE FRAGMENT...: every fragment appears in FILE.
contains() {
  local file=$1
  shift
  for f in "$@"; do
    checks=$((checks + 1))
    grep -qF -- "$f" "$file" || fail "$file lacks '$f'"
  done
}

# py CODE: runs python with numpy; a failed assertion fails the test.
py() {
  checks=$((checks + 1))
  "$PYTHON" -c "import numpy as np, json, sys
$1" || fail "python check failed: ${1:0:120}..."
}

finish() {
  if [[ $failures -ne 0 ]]; then
    echo "$failures of $checks checks failed" >&2
    exit 1
  fi
  echo "all $checks checks passed"
}
