#!/usr/bin/env bash
# python.sh: the Python binding (python/lesion/) works from a checkout and
# installed, and gives the CLI's numbers.
#   - `make python` places the shared library; from the repository root,
#     PYTHONPATH=python /usr/bin/python3 -c "import lesion" loads it;
#   - python/tests (pytest): logits bitwise equal to `lesion logits` clean,
#     lesioned and with interventions; generation and eval equal to the CLI's;
#     reset and the lesioned() block restore the clean logits bitwise, also
#     when the block raises; activations equal `lesion activations`; every
#     bad argument and hostile file raises (TypeError / ValueError /
#     lesion.LesionError), never crashes;
#   - pip install --no-build-isolation (offline) of a copy of python/ into a
#     temporary target installs the package with liblesion.so inside, and
#     that copy computes the same logits.
# sanitizers: skip (an ASan-built library cannot be loaded into an uninstrumented python3)
# Exit 0 pass, 1 fail, 77 when numpy/pytest or the model are absent; last line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
PY=/usr/bin/python3
[ -f models/kjv-gpt2/model.safetensors ] || { echo "SKIP: models/kjv-gpt2/model.safetensors absent"; exit 77; }
$PY -c "import numpy, pytest" 2>/dev/null || { echo "SKIP: python3-numpy or python3-pytest absent"; exit 77; }
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if make --no-print-directory -s python BUILD="$BUILD" >"$tmp/make.log" 2>&1; then ok "make python"
else bad "make python: $(tail -3 "$tmp/make.log")"; fi
v=$(PYTHONPATH=python $PY -c "import lesion; print(lesion.__version__)" 2>&1)
want=$(sed -n 's/^#define LS_VERSION "\(.*\)"/\1/p' include/lesion.h)
[ "$v" = "$want" ] && ok "PYTHONPATH=python python3 -c 'import lesion' (liblesion $v)" || bad "import lesion: $v"

if LESION="$BUILD/lesion" PYTHONPATH=python $PY -m pytest -q -p no:cacheprovider python/tests >"$tmp/pytest.log" 2>&1; then
  ok "python/tests: $(tail -1 "$tmp/pytest.log")"
else
  bad "python/tests:"; tail -n 40 "$tmp/pytest.log"
fi

# pip install from a copy, so that the checkout gets no build/ or egg-info.
cp -r python "$tmp/src" && rm -rf "$tmp/src/tests"
if $PY -m pip install -q --no-build-isolation --no-index --no-deps --target "$tmp/site" "$tmp/src" >"$tmp/pip.log" 2>&1; then
  ok "pip install --no-build-isolation ./python (offline)"
else
  bad "pip install: $(grep -v WARNING "$tmp/pip.log" | tail -3)"
fi
out=$(cd "$tmp" && PYTHONPATH="$tmp/site" LESION_MODEL="$OLDPWD/models/kjv-gpt2" $PY -c "
import lesion, numpy as np, sys
assert lesion._lib.path.startswith('$tmp/site/lesion/'), lesion._lib.path
m = lesion.Model()
ids = m.tokenize('And God said')
np.save('$tmp/pip.npy', m.logits(ids))
print(','.join(map(str, ids)))
" 2>&1)
if [ -f "$tmp/pip.npy" ] && "$BUILD/lesion" logits --ids "$out" --out "$tmp/cli.npy" 2>/dev/null \
   && $PY -c "import numpy as np, sys; sys.exit(0 if np.array_equal(np.load('$tmp/pip.npy'), np.load('$tmp/cli.npy')) else 1)"; then
  ok "the installed package loads its own liblesion.so and its logits equal the CLI's bitwise"
else
  bad "installed package: $out"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
