#!/usr/bin/env bash
# isa_paths.sh: proves, through the CLI, that
#  - `lesion --version` (and --json) names the CPU, the ISA path in use, the
#    BLAS and its kernel;
#  - LESION_ISA forces a path (and --version says so); an unknown name is a
#    usage error (exit 2, one line naming it);
#  - every path this CPU runs gives bitwise the same logits of a 100-token
#    prefill (sgemm panels, sgemm attention) with fp32 and bf16 weights and
#    with --compute bf16, and the same greedy text (single-token decode
#    steps: gemv, rows attention), with 2 threads, and the first path also
#    with 1 (thread counts are tested per path in tests/kernels);
#  - with OPENBLAS_CORETYPE unset, OpenBLAS ends on the best kernel this CPU
#    runs (lesion restarts itself when OpenBLAS picked a weaker one), and an
#    OPENBLAS_CORETYPE set by the user is kept;
#  - the portable build holds no AVX/AVX-512 instruction outside the objects
#    of the avx2/avx512 paths (objdump), so it starts on any x86-64 CPU.
# Exit 0 pass, 1 fail, 77 skip (no bundled model).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
L=${LESION:-$BUILD/lesion}
M=models/kjv-gpt2
[ -f $M/model.safetensors ] || { echo "skip: $M/model.safetensors not found"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
json_field() { /usr/bin/python3 -c 'import sys, json; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

"$L" --version >"$T/version" 2>&1 && grep -q '^cpu: ' "$T/version" && grep -q '^kernels: ' "$T/version" &&
  grep -q '^blas kernel: ' "$T/version" && ok "--version names the CPU, the kernels and the BLAS kernel" ||
  bad "--version: $(head -c 300 "$T/version")"
# The default is what runs without LESION_ISA (make test may itself run under a forced path).
env -u LESION_ISA "$L" --version --json >"$T/version.json" 2>&1 && paths=$(json_field isa_supported <"$T/version.json") &&
  best=$(json_field isa <"$T/version.json") && ok "--version --json (paths: $paths; in use: $best)" ||
  { bad "--version --json: $(head -c 300 "$T/version.json")"; exit 1; }
[ "${paths##* }" = "$best" ] && ok "the best path runs by default" || bad "default path $best, best of \"$paths\""

LESION_ISA=sse9 "$L" --version >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'LESION_ISA=sse9' "$T/err" &&
  ok "LESION_ISA=sse9 refused: $(cat "$T/err")" || bad "LESION_ISA=sse9: exit $rc, stderr: $(head -c 200 "$T/err")"

ids=$(seq -s, 7 53 5300)            # 100 tokens: prefill through sgemm and sgemm attention
first=${paths%% *}
for p in $paths; do
  LESION_ISA=$p "$L" --version | grep -q "^kernels: *$p (forced by LESION_ISA" || bad "LESION_ISA=$p not in effect"
  threads="2"
  [ "$p" = "$first" ] && threads="1 2"
  for th in $threads; do
    for mode in "f32" "bf16" "bf16 --compute bf16"; do
      # shellcheck disable=SC2086  # mode holds two flags on purpose
      LESION_ISA=$p "$L" logits --model $M --ids "$ids" --threads $th --weights $mode --out "$T/l.$p.$th.${mode// /_}.npy" \
        2>"$T/err" || bad "logits on path $p ($mode, $th threads): $(cat "$T/err")"
    done
    LESION_ISA=$p "$L" generate --model $M --prompt "And God said" --tokens 12 --threads $th >"$T/g.$p.$th.txt" \
      2>"$T/err" || bad "generate on path $p: $(cat "$T/err")"
  done
done
for f in "$T"/l.*.npy "$T"/g.*.txt; do
  name=${f#"$T"/}
  kind=${name%%.*} rest=${name#*.*.*.}
  [ "$kind" = g ] && rest=txt
  ref="$T/$kind.$first.1.$rest"
  cmp -s "$f" "$ref" || bad "$name differs from $(basename "$ref")"
done
[ $fails -eq 0 ] && ok "logits (f32, bf16, --compute bf16) and greedy text bitwise identical on paths: $paths"
cmp -s "$T/l.$first.1.f32.npy" "$T/l.$first.1.bf16_--compute_bf16.npy" && bad "--compute bf16 changed no logit"

kernel=$(env -u OPENBLAS_CORETYPE "$L" --version --json | json_field blas_kernel)
fell=$(env -u OPENBLAS_CORETYPE "$L" --version --json | json_field blas_fell_back)
[ "$fell" = False ] && ok "OPENBLAS_CORETYPE unset: OpenBLAS runs $kernel, the best for this CPU" ||
  bad "OPENBLAS_CORETYPE unset: OpenBLAS still runs $kernel: $(env -u OPENBLAS_CORETYPE "$L" --version | tail -n 1)"
kept=$(OPENBLAS_CORETYPE=Prescott "$L" --version --json | json_field blas_kernel)
[ "$kept" = Prescott ] && ok "OPENBLAS_CORETYPE=Prescott set by the user is kept" || bad "OPENBLAS_CORETYPE=Prescott became $kept"

if command -v objdump >/dev/null; then
  stray=$(find "$BUILD/src" -name '*.o' ! -name '*.avx2.o' ! -name '*.avx512*.o' | sort | while read -r o; do
    objdump -d --no-show-raw-insn "$o" | grep -q -P '^ +[0-9a-f]+:\t[vk][a-z0-9]+ ' && echo "${o#"$BUILD"/}"
  done)
  [ -z "$stray" ] && ok "no AVX instruction outside the avx2/avx512 objects" ||
    bad "AVX instructions outside the per-path objects: $stray"
fi
echo "$fails failed"
[ $fails -eq 0 ]
