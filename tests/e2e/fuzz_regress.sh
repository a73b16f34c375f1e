#!/usr/bin/env bash
# fuzz_regress.sh: every input the fuzzers ever crashed on stays fixed.
#
# Builds each fuzz target of fuzz/ with fuzz/replay_main.c (no libFuzzer)
# against $BUILD/liblesion.a, with the same compiler and sanitizers as that
# build (gcc for build/, clang + ASan + UBSan under make test-asan), and
# replays fuzz/regress/<target>/ (crashing inputs found so far, each fixed)
# and fuzz/corpus/<target>/ (the seeds: valid and broken examples). A target
# passes when no input crashes, trips a sanitizer or fails one of the
# target's own checks (FUZZ_CHECK). Exit 0 / 1; last line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
OUT="$BUILD/fuzz-replay"
mkdir -p "$OUT"
[ -f "$BUILD/liblesion.a" ] || { echo "$BUILD/liblesion.a missing (run make first)"; exit 1; }
PKGS="libpcre2-8 libcjson openblas"
if [ -n "${LESION_SANITIZED:-}" ]; then
  CC=clang
  FLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -fopenmp=libomp"
else
  CC=${CC:-gcc}
  FLAGS="-O1 -g -fopenmp"
fi
# The encode target needs the bundled tokenizer.
export LESION_FUZZ_TOKENIZER_DIR=${LESION_FUZZ_TOKENIZER_DIR:-models/kjv-gpt2}
pass=0 fail=0
for src in fuzz/fuzz_*.c; do
  t=${src#fuzz/fuzz_}
  t=${t%.c}
  bin="$OUT/replay_$t"
  # shellcheck disable=SC2046,SC2086
  if ! $CC -std=c11 -D_GNU_SOURCE -Wall $FLAGS -Iinclude -Isrc $(pkg-config --cflags $PKGS) "$src" fuzz/replay_main.c \
      "$BUILD/liblesion.a" $(pkg-config --libs $PKGS) -lm -o "$bin" 2>"$OUT/$t.build.log"; then
    fail=$((fail + 1)); echo "FAIL $t: does not build"; sed 's/^/      /' "$OUT/$t.build.log" | head -20; continue
  fi
  dirs=(fuzz/corpus/"$t")
  [ -d fuzz/regress/"$t" ] && dirs=(fuzz/regress/"$t" "${dirs[@]}")
  "$bin" "${dirs[@]}" >"$OUT/$t.log" 2>&1
  rc=$?
  n=$(grep -c '^replay: ' "$OUT/$t.log")
  if [ $rc -eq 77 ]; then
    echo "skip $t: $(tail -n 1 "$OUT/$t.log")"
  elif [ $rc -eq 0 ]; then
    pass=$((pass + 1)); echo "ok   $t: $n inputs from ${dirs[*]}"
  else
    fail=$((fail + 1)); echo "FAIL $t (exit $rc) on $(grep '^replay: ' "$OUT/$t.log" | tail -n 1 | cut -d' ' -f2)"
    grep -v '^replay: ' "$OUT/$t.log" | head -n 30 | sed 's/^/      /'
  fi
done
echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
