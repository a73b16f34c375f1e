"""bench/python_overhead.py: what a Python .logits call costs against the
C call under it and against a whole `lesion logits` process, on the bundled
model. Run from the repository root after `make python`:

    /usr/bin/python3 bench/python_overhead.py [THREADS]

Prints medians (40 calls in process, 15 processes) for 16 and 256 tokens,
and the Python layer's own cost (argument checks + output array, timeit).
The README's "Python" section quotes it with the machine's lscpu model."""
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit

import numpy as np

sys.path.insert(0, "python")
import lesion  # noqa: E402
from lesion import _lib  # noqa: E402

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
build = os.environ.get("BUILD", "build")
m = lesion.Model(threads=threads)
text = open("models/kjv-gpt2/heldout.txt", encoding="utf-8").read()
npy = os.path.join(tempfile.mkdtemp(), "logits.npy")  # a real file: the CLI replaces its --out atomically
med = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
for T in (16, 256):
    ids = m.tokenize(text)[:T]
    m.logits(ids)
    py = []
    for _ in range(40):
        t = time.perf_counter()
        m.logits(ids)
        py.append(time.perf_counter() - t)
    a, out, err = np.array(ids, dtype=np.int32), np.empty((T, m.vocab_size), np.float32), _lib.Error()
    raw = []
    for _ in range(40):
        t = time.perf_counter()
        _lib.lib.ls_session_logits(m._s, a.ctypes.data_as(_lib.P_int32), T, out.ctypes.data_as(_lib.P_float), err)
        raw.append(time.perf_counter() - t)
    cli = []
    for _ in range(15):
        t = time.perf_counter()
        subprocess.run([os.path.join(build, "lesion"), "logits", "--ids", ",".join(map(str, ids)), "--out", npy,
                        "--threads", str(threads)], check=True, stdout=subprocess.DEVNULL)
        cli.append(time.perf_counter() - t)
    own = timeit.timeit(lambda: (m._ids("ids", ids, max_len=m.n_ctx), np.empty((T, m.vocab_size), np.float32)),
                        number=2000) / 2000
    print("T=%d, %d thread(s): Model.logits %.1f ms, ls_session_logits %.1f ms, `lesion logits` process %.1f ms; "
          "Python's own work %.0f us" % (T, threads, med(py), med(raw), med(cli), 1e6 * own))
