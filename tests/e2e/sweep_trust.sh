#!/usr/bin/env bash
# sweep_trust.sh: a sweep's results can be trusted (issue 17), end to end.
#
# On a tiny random model (4 layers, 2 heads, n_embd 16, context 64) with the
# bundled tokenizer, each sweep taking well under a second:
#   1. resume by content: after the eval text, the plan file, the prompts or
#      the model weights are edited in place, the same command is refused
#      (exit 2) naming the input, the rows untouched; a comment-only edit of
#      the plan file resumes; --force moves the old rows to replaced-*/;
#   2. the folder: --force against a live sweep is refused (exit 1) and the
#      live sweep completes unmixed; another tool's results.jsonl (no
#      sweep.json) and a results.jsonl that is a symbolic link are refused
#      and left untouched (the link's target too, even with --force); a
#      corrupt line in the middle of results.jsonl stops the sweep naming
#      the line, nothing cut; a torn last line is cut, naming its line;
#   3. FIFOs given as model file, eval text, prompts or plan file are refused
#      at once (no hang: each command runs under a 20 s timeout);
#   4. lesion report DIR rebuilds an interrupted sweep's report ("partial:
#      N of M rows"), also while a sweep is still writing; lesion report A B
#      --out C compares two sweeps, and refuses different eval texts;
#   5. plan files: NUL byte, a bad spec, a duplicate configuration and two
#      overlapping specs on a line are errors naming file:line (the last two
#      allowed by --allow-duplicates); --layers, --plan dims, wte.in/wte.out,
#      --rng torch-stream run; --target attn.q@L0 points to --layers;
#   6. statistics: the clean row's KL is exactly 0; with one seed there is no
#      interval (null bounds, "no intervals" printed); with 2 seeds every
#      interval lies within its metric's range and the output says rough;
#   7. small defects: --top-p 0 is a usage error; --threads above the usable
#      CPUs is capped with a one-line note; export refuses wte.out.
# Exit 0 pass, 1 fail (77 skip without the bundled tokenizer); last line
# "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
L=${LESION:-$BUILD/lesion}
PY=/usr/bin/python3
TOK=models/kjv-gpt2
[ -f $TOK/vocab.json ] && [ -f $TOK/merges.txt ] && [ -f $TOK/heldout.txt ] || { echo "skip: no $TOK tokenizer"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sweep_trust.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

M="$T/model"
V=$($PY -c 'import json, sys; print(len(json.load(open(sys.argv[1], encoding="utf-8"))))' $TOK/vocab.json)
"$L" init --layers 4 --heads 2 --embd 16 --vocab "$V" --ctx 64 --out "$M" >/dev/null || { echo "init failed"; exit 1; }
cp $TOK/vocab.json $TOK/merges.txt "$M/"
head -c 6000 $TOK/heldout.txt >"$M/heldout.txt"
head -c 6000 $TOK/heldout.txt >"$T/eval.txt"
printf 'And God said\nIn the beginning\n' >"$T/prompts.txt"
printf '# two configurations\nattn.q@L0\nmlp.fc@L1 ; attn.k@L2\n' >"$T/plan.txt"
LOUD=(sweep --model "$M" --seeds 2 --eval-tokens 128 --ctx 64 --gen-tokens 4 --threads 1)
SWEEP=("${LOUD[@]}" --quiet)
sweep() { timeout 60 "$L" "${SWEEP[@]}" "$@"; }
rows() { wc -l <"$1/results.jsonl"; }
sum() { md5sum <"$1" | cut -d' ' -f1; }
one_line() { [ "$(wc -l <"$1")" -eq 1 ]; }

# ---- 1. resume by content ---------------------------------------------------------

sweep --out "$T/base" 2>"$T/err" || { bad "base sweep: $(cat "$T/err")"; exit 1; } # untouched inputs: used below

run_stale() { # name, out dir, file to edit, words wanted in the refusal, extra sweep args...
  local name=$1 out=$2 file=$3 want=$4
  shift 4
  sweep --out "$out" "$@" 2>"$T/err" || { bad "$name: first sweep failed: $(cat "$T/err")"; return; }
  local before; before=$(sum "$out/results.jsonl")
  printf ' edited' >>"$file"
  sweep --out "$out" "$@" 2>"$T/err"
  local rc=$?
  if [ $rc -eq 2 ] && grep -q "$want" "$T/err" && one_line "$T/err" && [ "$(sum "$out/results.jsonl")" = "$before" ]; then
    ok "$name edited in place: refused (exit 2, \"$want\"), rows untouched"
  else
    bad "$name edited in place: exit $rc, $(cat "$T/err")"
  fi
}
run_stale "the eval text" "$T/s_eval" "$T/eval.txt" "the eval text changed" --eval "$T/eval.txt"
run_stale "the prompts" "$T/s_prompts" "$T/prompts.txt" "the prompts changed" --prompts "$T/prompts.txt"
cp -r "$M" "$T/m2"
sweep --out "$T/s_model" --model "$T/m2" 2>"$T/err" || bad "model sweep: $(cat "$T/err")"
before=$(sum "$T/s_model/results.jsonl")
"$L" init --layers 4 --heads 2 --embd 16 --vocab "$V" --ctx 64 --seed 7 --out "$T/m3" >/dev/null
cp "$T/m3/model.safetensors" "$T/m2/model.safetensors" # same size, other weights, same path
sweep --out "$T/s_model" --model "$T/m2" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "the model weights changed" "$T/err" && [ "$(sum "$T/s_model/results.jsonl")" = "$before" ] \
  && ok "the model weights replaced in place: refused (exit 2), rows untouched" || bad "model replaced: exit $rc, $(cat "$T/err")"
sweep --out "$T/s_plan" --plan-file "$T/plan.txt" 2>"$T/err" || bad "plan sweep: $(cat "$T/err")"
before=$(sum "$T/s_plan/results.jsonl")
printf '# a comment changes no configuration\n' >>"$T/plan.txt"
sweep --out "$T/s_plan" --plan-file "$T/plan.txt" 2>"$T/err" && [ "$(sum "$T/s_plan/results.jsonl")" = "$before" ] \
  && ok "a comment-only edit of the plan file resumes (nothing to add)" || bad "plan comment: $(cat "$T/err")"
sed -i 's/attn.q@L0/attn.q@L3/' "$T/plan.txt"
sweep --out "$T/s_plan" --plan-file "$T/plan.txt" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "the plan's configurations changed: item 1 was \"attn.q@L0\", now \"attn.q@L3\"" "$T/err" \
  && [ "$(sum "$T/s_plan/results.jsonl")" = "$before" ] \
  && ok "a spec edited in the plan file: refused, naming the configuration" || bad "plan edit: exit $rc, $(cat "$T/err")"
sweep --out "$T/s_plan" --plan-file "$T/plan.txt" --force 2>"$T/err"
[ $? -eq 0 ] && [ "$(sum "$T"/s_plan/replaced-*/results.jsonl)" = "$before" ] && grep -q '"attn.q@L3"' "$T/s_plan/results.jsonl" \
  && ! grep -q '"attn.q@L0"' "$T/s_plan/results.jsonl" \
  && ok "--force: a new sweep, the old rows moved to replaced-*/ (not mixed)" || bad "--force after plan edit: $(cat "$T/err")"

# ---- 2. the folder ------------------------------------------------------------------

LONG=(--eval-tokens 1024 --gen-tokens 32)
timeout 120 "$L" "${SWEEP[@]}" "${LONG[@]}" --out "$T/live" 2>"$T/live.err" &
pid=$!
for _ in $(seq 1 500); do [ -s "$T/live/results.jsonl" ] && break; sleep 0.02; done
sweep "${LONG[@]}" --out "$T/live" --seeds 3 --force 2>"$T/err"
rc=$?
wait $pid
rc1=$?
[ $rc -eq 1 ] && grep -q "another process is writing" "$T/err" && grep -q "force" "$T/err" && [ $rc1 -eq 0 ] \
  && [ "$(rows "$T/live")" -eq 9 ] && [ ! -e "$T/live/replaced-"* ] \
  && ok "--force against a live sweep: refused (exit 1); the live sweep completes, nothing moved or mixed" \
  || bad "--force vs live: exit $rc ($(cat "$T/err")), live exit $rc1, $(rows "$T/live") rows"

mkdir -p "$T/foreign"
echo '{"key":"theirs","v":1}' >"$T/foreign/results.jsonl"
sweep --out "$T/foreign" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "without sweep.json" "$T/err" && [ "$(cat "$T/foreign/results.jsonl")" = '{"key":"theirs","v":1}' ] \
  && ok "another tool's results.jsonl: refused (exit 2), untouched" || bad "foreign: exit $rc, $(cat "$T/err")"

mkdir -p "$T/linked"
echo precious >"$T/target.txt"
ln -s "$T/target.txt" "$T/linked/results.jsonl"
sweep --out "$T/linked" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "symbolic link" "$T/err" && [ "$(cat "$T/target.txt")" = precious ] \
  && ok "a symlinked results.jsonl: refused (exit 2), its target untouched" || bad "symlink: exit $rc, $(cat "$T/err")"
sweep --out "$T/linked" --force 2>"$T/err" && [ "$(cat "$T/target.txt")" = precious ] && [ ! -L "$T/linked/results.jsonl" ] \
  && ok "--force moves the link aside and never writes through it" || bad "symlink --force: $(cat "$T/err")"

cp -r "$T/base" "$T/corrupt"
$PY - "$T/corrupt/results.jsonl" <<'PYEOF'
import sys
p = sys.argv[1]
lines = open(p, encoding="utf-8").read().split("\n")
lines[2] = lines[2][: len(lines[2]) // 2]  # half of line 3, rows after it
open(p, "w", encoding="utf-8").write("\n".join(lines))
PYEOF
before=$(sum "$T/corrupt/results.jsonl")
sweep --out "$T/corrupt" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "line 3 is not a lesion row" "$T/err" && [ "$(sum "$T/corrupt/results.jsonl")" = "$before" ] \
  && ok "a corrupt middle row stops the sweep naming line 3; nothing cut" || bad "corrupt middle: exit $rc, $(cat "$T/err")"
"$L" report "$T/corrupt" --quiet 2>"$T/err"
[ $? -eq 1 ] && grep -q "line 3" "$T/err" && ok "lesion report refuses it too, naming the line" || bad "report corrupt: $(cat "$T/err")"

cp -r "$T/base" "$T/torn"
n=$(rows "$T/torn")
printf '{"key":"c1-s1","conf' >>"$T/torn/results.jsonl"
timeout 60 "$L" "${LOUD[@]}" --out "$T/torn" >/dev/null 2>"$T/err"
[ $? -eq 0 ] && grep -q "cut the torn last line (line $((n + 1)))" "$T/err" && [ "$(rows "$T/torn")" -eq "$n" ] \
  && ok "a torn last line is cut, naming its line ($((n + 1)))" || bad "torn: $(cat "$T/err")"

# ---- 3. FIFOs -----------------------------------------------------------------------

mkfifo "$T/fifo"
mkdir -p "$T/mfifo" && cp "$M"/config.json "$M"/vocab.json "$M"/merges.txt "$M"/heldout.txt "$T/mfifo/" && mkfifo "$T/mfifo/model.safetensors"
fifo_case() { # name, args...
  local name=$1; shift
  local t0=$SECONDS
  timeout 20 "$L" "${SWEEP[@]}" --out "$T/f_out" "$@" 2>"$T/err"
  local rc=$?
  [ $rc -eq 1 ] && grep -q "not a regular file" "$T/err" && one_line "$T/err" \
    && ok "a FIFO as $name: refused at once (exit 1, $((SECONDS - t0)) s)" || bad "FIFO $name: exit $rc (124 = hung), $(cat "$T/err")"
}
fifo_case "the model file" --model "$T/mfifo"
fifo_case "the eval text" --eval "$T/fifo"
fifo_case "the prompts" --prompts "$T/fifo"
fifo_case "the plan file" --plan-file "$T/fifo"
mkdir -p "$T/tfifo" && cp "$M"/config.json "$M"/model.safetensors "$M"/merges.txt "$M"/heldout.txt "$T/tfifo/" && mkfifo "$T/tfifo/vocab.json"
fifo_case "the tokenizer's vocab.json" --model "$T/tfifo"

# ---- 4. lesion report ------------------------------------------------------------------

cp -r "$T/base" "$T/partial"
head -n 3 "$T/base/results.jsonl" >"$T/partial/results.jsonl"
rm "$T/partial/summary.json" "$T/partial/report.html"
"$L" report "$T/partial" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && grep -q "partial: 3 of 9 rows" "$T/out" && grep -q "Partial: 3 of 9 rows" "$T/partial/report.html" \
  && $PY -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["partial"] and s["rows_present"]==3' "$T/partial/summary.json" \
  && ok "lesion report DIR of an interrupted sweep: partial, 3 of 9 rows" || bad "report partial: exit $rc, $(cat "$T/err")"
timeout 120 "$L" "${SWEEP[@]}" "${LONG[@]}" --out "$T/live2" 2>/dev/null &
pid=$!
for _ in $(seq 1 500); do [ -s "$T/live2/results.jsonl" ] && break; sleep 0.02; done
"$L" report "$T/live2" --quiet 2>"$T/err"
rc=$?
wait $pid
rc1=$?
[ $rc -eq 0 ] && [ $rc1 -eq 0 ] && [ "$(rows "$T/live2")" -eq 9 ] \
  && ok "lesion report DIR while the sweep is running: works, and the sweep completes" || bad "report live: $rc ($(cat "$T/err")), sweep $rc1"
sweep --out "$T/q" --target attn.k 2>/dev/null
"$L" report "$T/base" "$T/q" --out "$T/cmp" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && grep -q "lesion comparison: 2 sweeps" "$T/cmp/report.html" && [ "$(grep -c '<polyline' "$T/cmp/report.html")" -eq 8 ] \
  && [ -s "$T/cmp/comparison.json" ] && ok "lesion report A B --out C: one page, one series per sweep" || bad "compare: exit $rc, $(cat "$T/err")"
head -c 5000 $TOK/heldout.txt >"$T/eval2.txt"
sweep --out "$T/e2" --eval "$T/eval2.txt" 2>/dev/null
"$L" report "$T/base" "$T/e2" --out "$T/cmp2" 2>"$T/err"
[ $? -eq 2 ] && grep -q "different eval texts" "$T/err" && ok "comparing sweeps of different eval texts is refused" || bad "compare refusal: $(cat "$T/err")"

# ---- 5. plans ---------------------------------------------------------------------------

plan_error() { # name, file content (printf format), words wanted, extra args
  local name=$1 content=$2 want=$3
  shift 3
  printf "$content" >"$T/p.txt"
  sweep --out "$T/p_out" --plan-file "$T/p.txt" "$@" 2>"$T/err"
  local rc=$?
  [ $rc -eq 2 ] && grep -qF "$want" "$T/err" && one_line "$T/err" && [ ! -e "$T/p_out" ] \
    && ok "plan file, $name: exit 2, \"$want\", nothing written" || bad "plan file $name: exit $rc, $(cat "$T/err")"
}
plan_error "NUL byte" 'attn.q@L0\nattn.q@L1\0attn.q@L2\n' "p.txt:2: NUL byte"
plan_error "bad spec" 'attn.q@L0\n\nattn.q@L9\n' "p.txt:3: lesion spec \"attn.q@L9\": layer 9 out of range"
plan_error "duplicate" 'attn.q@L0;mlp.fc@L1\nmlp.fc@L1;attn.q@L0\n' "p.txt:2: the same configuration as line 1"
plan_error "noise twice" 'attn.q@L1;attn.q@L1\n' "p.txt:1: attn.q@L1 and attn.q@L1 lesion the same weights"
printf 'attn.q@L1;attn.q@L1\nattn.q@L0\nattn.q@L0\n' >"$T/p.txt"
sweep --out "$T/p_dup" --plan-file "$T/p.txt" --allow-duplicates --seeds 1 2>"$T/err" && [ "$(rows "$T/p_dup")" -eq 4 ] \
  && ok "--allow-duplicates runs them" || bad "--allow-duplicates: $(cat "$T/err")"
sweep --out "$T/p_bad" --plan heads --target attn.q@L0 2>"$T/err"
[ $? -eq 2 ] && grep -q "choose layers with --layers" "$T/err" && ok "--target attn.q@L0 points to --layers" || bad "target@: $(cat "$T/err")"
labels() { $PY -c 'import json,sys; print(" ".join(c["label"] for c in json.load(open(sys.argv[1]))["configs"]))' "$1/summary.json"; }
sweep --out "$T/heads" --plan heads --layers 1-2 --seeds 1 2>"$T/err" && [ "$(labels "$T/heads")" = "clean L1H0 L1H1 L2H0 L2H1" ] \
  && ok "--plan heads --layers 1-2: heads of layers 1 and 2 only" || bad "heads --layers: $(cat "$T/err") $(labels "$T/heads" 2>&1)"
sweep --out "$T/dims" --plan dims --target wte --dim-block 8 --seeds 1 2>"$T/err" && [ "$(labels "$T/dims")" = "clean D0-7 D8-15" ] \
  && ok "--plan dims --target wte --dim-block 8: D0-7, D8-15" || bad "dims: $(cat "$T/err") $(labels "$T/dims" 2>&1)"
printf 'wte\nwte.in\nwte.out\n' >"$T/tied.txt"
sweep --out "$T/tied" --plan-file "$T/tied.txt" --seeds 1 2>"$T/err" && $PY - "$T/tied/results.jsonl" <<'PYEOF' \
  && ok "wte, wte.in, wte.out: three different lesions (the halves restart at embed / head)" || bad "tied: $(cat "$T/err")"
import json, sys
r = {x["label"]: x for x in map(json.loads, open(sys.argv[1]))}
assert r["wte.out"]["first_layer"] == 4 and r["wte.in"]["first_layer"] == 0, r
ce = {k: r[k]["cross_entropy"] for k in ("wte", "wte.in", "wte.out")}
assert len(set(ce.values())) == 3 and all(v != r["clean"]["cross_entropy"] for v in ce.values()), ce
PYEOF
sweep --out "$T/stream" --rng torch-stream 2>"$T/err" && grep -q '"rng":.*"torch-stream"' "$T/stream/sweep.json" \
  && ok "--rng torch-stream runs and is part of the identity" || bad "torch-stream: $(cat "$T/err")"

# ---- 6. statistics ------------------------------------------------------------------------

$PY - "$T/base/summary.json" <<'PYEOF' && ok "2 seeds: clean KL exactly 0; every interval within its metric's range; marked rough" \
  || bad "2-seed intervals out of range"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["configs"][0]["metrics"]["kl"]["center"] == 0 and s["configs"][0]["metrics"]["kl"]["values"] == [0]
assert "rough" in s["intervals"]
for c in s["configs"][1:]:
    m = c["metrics"]
    for k in ("top1", "rep4", "distinct2"):
        assert 0 <= m[k]["lo"] <= m[k]["center"] <= m[k]["hi"] <= 1, (c["label"], k, m[k])
    for k in ("kl", "perplexity", "gen_ppl", "cross_entropy"):
        assert m[k]["lo"] >= 0, (c["label"], k, m[k])
PYEOF
timeout 60 "$L" "${LOUD[@]}" --seeds 1 --out "$T/one" >"$T/out" 2>/dev/null
$PY -c 'import json,sys; s=json.load(open(sys.argv[1])); m=s["configs"][1]["metrics"]["perplexity"]; assert m["lo"] is None and m["hi"] is None' \
  "$T/one/summary.json" && grep -q "no intervals" "$T/out" && ok "1 seed: no interval (null bounds), said so" || bad "1 seed: $(cat "$T/out")"

# ---- 7. small defects -------------------------------------------------------------------

timeout 20 "$L" generate --model "$M" --prompt "And" --tokens 2 --top-p 0 --temperature 1 >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "not in (0, 1\]" "$T/err" && ok "--top-p 0 is a usage error" || bad "--top-p 0: $(cat "$T/err")"
timeout 60 "$L" generate --model "$M" --prompt "And" --tokens 2 --threads 1000 >/dev/null 2>"$T/err"
[ $? -eq 0 ] && grep -q "may run on .* CPU" "$T/err" && one_line "$T/err" && ok "--threads 1000: capped with a one-line note" \
  || bad "--threads 1000: $(cat "$T/err")"

# A lesion of one use of the tied embedding is exported untied: lm_head.weight
# of its own and tie_word_embeddings false, computing what the lesioned model did.
timeout 60 "$L" export --model "$M" --lesion wte.out@D0 --mode zero --out "$T/exported" 2>"$T/err" &&
  "$L" logits --model "$M" --ids 1,2,3,4 --lesion wte.out@D0 --mode zero --out "$T/wo_a.npy" 2>>"$T/err" &&
  "$L" logits --model "$T/exported" --ids 1,2,3,4 --out "$T/wo_b.npy" 2>>"$T/err" &&
  cmp -s "$T/wo_a.npy" "$T/wo_b.npy" && grep -q '"tie_word_embeddings":[[:space:]]*false' "$T/exported/config.json" \
  && ok "export of wte.out writes an untied head: the exported logits are the lesioned ones" \
  || bad "export wte.out: $(cat "$T/err")"

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
