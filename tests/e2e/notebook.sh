#!/usr/bin/env bash
# notebook.sh: examples/seed_experiment.ipynb runs headless (python3-nbclient,
# the python3 kernel of python3-ipykernel) on a fresh kernel without error,
# and what it shows is right:
#   - its damage table's clean perplexity equals `lesion eval --max-tokens 768
#     --ctx 128` to the 4 decimals shown, and perplexity grows from clean to
#     the last configuration (L0-11);
#   - the plot is there (a PNG), and the samples table has a column per prompt.
# The checked-in notebook keeps its outputs for readers; this test executes
# a copy in memory and never rewrites it.
# sanitizers: skip (the kernel loads the uninstrumented library)
# Exit 0 pass, 1 fail, 77 when nbclient/pandas/matplotlib or the model are absent.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
PY=/usr/bin/python3
[ -f models/kjv-gpt2/model.safetensors ] || { echo "SKIP: models/kjv-gpt2/model.safetensors absent"; exit 77; }
$PY -c "import nbclient, nbformat, ipykernel, pandas, matplotlib, numpy" 2>/dev/null \
  || { echo "SKIP: python3-nbclient, -ipykernel, -pandas or -matplotlib absent"; exit 77; }
make --no-print-directory -s python BUILD="$BUILD" || exit 1
want=$("$BUILD/lesion" eval --max-tokens 768 --ctx 128 --json | $PY -c 'import sys, json; print("%.4f" % json.load(sys.stdin)["perplexity"])')
PYDEVD_DISABLE_FILE_VALIDATION=1 $PY - "$want" <<'PYEOF'
import sys, time
import nbformat
from nbclient import NotebookClient

want_clean = sys.argv[1]
pass_, fail = 0, 0
def check(ok, what):
    global pass_, fail
    print(("ok   " if ok else "FAIL ") + what)
    pass_, fail = pass_ + bool(ok), fail + (not ok)

nb = nbformat.read("examples/seed_experiment.ipynb", as_version=4)
for c in nb.cells:  # run from a clean slate, not on the checked-in outputs
    if c.cell_type == "code":
        c.outputs, c.execution_count = [], None
t0 = time.time()
try:
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": "examples"}}).execute()
    check(True, "examples/seed_experiment.ipynb executes headless (%.0f s)" % (time.time() - t0))
except Exception as e:
    check(False, "the notebook failed: %s" % str(e).strip().splitlines()[-1][:300])
    print("%d passed, %d failed" % (pass_, fail))
    sys.exit(1)

outs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
texts = [o.get("data", {}).get("text/plain", "") for o in outs if o.output_type in ("execute_result", "display_data")]
table = next((t for t in texts if "ppl_vs_clean" in t), "")
lines = [l.split() for l in table.splitlines()[1:]]
rows = {l[1]: float(l[2]) for l in lines if len(l) >= 3}
check(rows.get("clean") is not None and "%.4f" % rows["clean"] == want_clean,
      "damage table: clean perplexity %s = lesion eval's %s" % (rows.get("clean"), want_clean))
check(rows.get("L0-11", 0) > 2 * rows.get("clean", 1e9),
      "damage table: L0-11 perplexity %s is more than twice the clean one" % rows.get("L0-11"))
check(any("image/png" in o.get("data", {}) for o in outs), "the perplexity plot is shown (PNG)")
check(any("And God said" in t and "The LORD is my shepherd" in t for t in texts), "samples side by side, one column per prompt")
print("%d passed, %d failed" % (pass_, fail))
sys.exit(1 if fail else 0)
PYEOF
