"""sweep.py: lesion.sweep and lesion.read_results, over the library's sweep
(include/lesion/sweep.h: ls_sweep_open, ls_sweep_run, ls_sweep_finish).

The options are `lesion sweep`'s, with "-" spelled "_"; the output folder
is the CLI's too (results.jsonl, results.csv, summary.json, report.html), so
a sweep started here resumes from the CLI and the other way round. Ctrl-C
(KeyboardInterrupt, a notebook's "interrupt") stops between rows: the
finished rows stay in results.jsonl, the summary says "partial", and the
KeyboardInterrupt is raised again once the folder is consistent.
"""
import ctypes
import json
import os
import signal
import sys
import threading
import time

from . import _lib
from ._lib import lib
from .model import LesionError, _usable_cpus, bundled_model_dir

__all__ = ["sweep", "read_results"]


def _opt_str(name, v):
    if v is None:
        return None
    if isinstance(v, os.PathLike):
        v = os.fspath(v)
    if not isinstance(v, str):
        raise TypeError("%s must be a str, not %s" % (name, type(v).__name__))
    if "\0" in v:
        raise ValueError("%s contains a NUL character" % name)
    return v.encode()


def _opt_int(name, v, lo, hi):
    if v is None:
        return 0  # the library's default
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError("%s must be an integer, not %s" % (name, type(v).__name__))
    if not lo <= v <= hi:
        raise ValueError("%s=%d: expected %d..%d" % (name, v, lo, hi))
    return v


def _layers(v):
    """"0-3" as it is; a list or range of layers as "0,1,2"."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (list, tuple, range)) and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return ",".join(str(x) for x in v)
    raise TypeError("layers must be a str like '0-3' or a list of ints")


def _shard(v):
    if v is None:
        return 0, 0
    if isinstance(v, str) and v.count("/") == 1:
        k, n = v.split("/")
        v = (int(k), int(n)) if k.isdigit() and n.isdigit() else None
    if isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, int) for x in v) and 0 <= v[0] < v[1]:
        return v
    raise ValueError("shard: expected 'K/N' or (K, N) with 0 <= K < N")


class _Progress:
    """A tqdm bar (notebook or terminal, tqdm.auto) when tqdm is installed,
    else a plain line at most every 5 s and at the end; or the caller's
    function progress(done, total, label)."""

    def __init__(self, how):
        self.how, self.bar, self.t0, self.last = how, None, time.monotonic(), 0.0

    def start(self, done, total):
        if self.how is True:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, initial=done, desc="lesion.sweep", unit="row")
            except ImportError:
                self.line(done, total, "")

    def line(self, done, total, label):
        secs = time.monotonic() - self.t0
        print("lesion.sweep: %d/%d rows%s, %.0fs elapsed" % (done, total, " (%s)" % label if label else "", secs),
              file=sys.stderr, flush=True)
        self.last = secs

    def row(self, done, total, label):
        if callable(self.how):
            self.how(done, total, label)
        elif self.bar is not None:
            self.bar.set_postfix_str(label)
            self.bar.update(done - self.bar.n)
        elif self.how and (done == total or time.monotonic() - self.t0 - self.last >= 5):
            self.line(done, total, label)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def sweep(out="lesion-report", model=None, plan=None, plan_file=None, target=None, layers=None, dim_block=None,
          allow_duplicates=False, mode=None, match=None, with_bias=False, rng=None, lesion_seed=0, seeds=None,
          eval=None, eval_tokens=None, ctx=None, batch=None, prompts=None, gen_tokens=None, weights=None,
          compute=None, shard=None, force=False, no_prefix_reuse=False, threads=None, ablate=None, ablate_mode=None,
          ablate_seed=None, probe=None, probe_text=None, probe_tokens=None, probe_top=None, probe_buckets=None,
          progress=True):
    """Runs `lesion sweep` in this process and returns its summary (the
    dict of out/summary.json). The keywords are the CLI's options (defaults
    as there: cumulative attn.q over every layer, 5 seeds, 4096 eval tokens
    of the model's heldout.txt, model None = the bundled one); layers may
    also be a list of ints, shard "K/N" or (K, N). Rerunning the same sweep
    into the same out resumes it. progress: True (a tqdm bar if tqdm is
    installed, else plain lines), False, or a function (done, total, label).
    ablate: a site or a list of sites ablated in every row, the clean one
    included (docs/sweep.md); probe: "prev-token", "token" or "position"
    adds probe accuracy per layer to every row."""
    given = {k: v for k, v in locals().items() if k != "progress" and v is not None and v is not False}
    o = _lib.SweepOptions()
    o.model_dir = _opt_str("model", model if model is not None else bundled_model_dir())
    o.out_dir = _opt_str("out", out)
    for field, name, v in (("weights", "weights", weights), ("compute", "compute", compute), ("plan", "plan", plan),
                           ("plan_file", "plan_file", plan_file), ("target", "target", target),
                           ("layers", "layers", _layers(layers)), ("mode", "mode", mode), ("match", "match", match),
                           ("rng", "rng", rng), ("eval_path", "eval", eval), ("prompts_path", "prompts", prompts)):
        setattr(o, field, _opt_str(name, v))
    o.dim_block = _opt_int("dim_block", dim_block, 1, 1 << 22)
    o.n_seeds = _opt_int("seeds", seeds, 1, 1000)
    o.eval_tokens = _opt_int("eval_tokens", eval_tokens, 2, 1 << 30)
    o.ctx = _opt_int("ctx", ctx, 2, 1 << 20)
    o.batch = _opt_int("batch", batch, 1, 1024)
    o.gen_tokens = _opt_int("gen_tokens", gen_tokens, 1, 1 << 20)
    o.lesion_seed = _opt_int("lesion_seed", lesion_seed, 0, 2**63 - 1)
    o.n_threads = min(_opt_int("threads", threads, 1, 1024) or _usable_cpus(), _usable_cpus())
    o.shard_index, o.shard_count = _shard(shard)
    sites = [ablate] if isinstance(ablate, str) else list(ablate or [])
    ablate_c = (ctypes.c_char_p * (len(sites) + 1))(*[_opt_str("ablate", a) for a in sites])  # kept alive below
    o.ablate, o.n_ablate = ctypes.cast(ablate_c, ctypes.POINTER(ctypes.c_char_p)), len(sites)
    o.ablate_mode = _opt_str("ablate_mode", ablate_mode)
    o.ablate_seed = _opt_int("ablate_seed", ablate_seed, 0, 2**63 - 1)
    o.probe = _opt_str("probe", probe)
    o.probe_text = _opt_str("probe_text", probe_text)
    o.probe_tokens = _opt_int("probe_tokens", probe_tokens, 2, 1 << 30)
    o.probe_top = _opt_int("probe_top", probe_top, 2, 65536)
    o.probe_buckets = _opt_int("probe_buckets", probe_buckets, 2, 1 << 20)
    for field, v in (("allow_duplicates", allow_duplicates), ("with_bias", with_bias), ("force", force),
                     ("no_prefix_reuse", no_prefix_reuse)):
        if not isinstance(v, bool):
            raise TypeError("%s must be a bool" % field)
        setattr(o, field, int(v))
    if not (isinstance(progress, bool) or callable(progress)):
        raise TypeError("progress must be True, False or a function (done, total, label)")
    o.command = ("lesion.sweep(%s)" % ", ".join("%s=%r" % kv for kv in sorted(given.items()))).encode()

    # Cancelling: the library reads the flag between rows. SIGINT sets it
    # (Python runs its handler when the progress or cancel callback runs).
    cancel = ctypes.c_int(0)
    state = {"interrupted": False, "error": None}
    bar = _Progress(progress)

    def on_row(user, row, done, total, label):
        try:
            bar.row(done, total, label.decode("utf-8", "replace") if label else "")
        except BaseException as e:  # an exception cannot cross C: stop, raise it afterwards
            state["error"] = e
            cancel.value = 1

    def is_cancelled(user):
        return cancel.value

    def on_sigint(signum, frame):
        state["interrupted"] = True
        cancel.value = 1

    o.progress = _lib.PROGRESS_FN(on_row)
    o.cancelled = _lib.CANCELLED_FN(is_cancelled)
    o.cancel = ctypes.pointer(cancel)

    err, sw = _lib.Error(), ctypes.c_void_p()
    if lib.ls_sweep_open(ctypes.byref(sw), ctypes.byref(o), err) != 0:
        raise LesionError(err.text())
    old = None
    try:
        done, total = ctypes.c_int(), ctypes.c_int()
        lib.ls_sweep_counts(sw, ctypes.byref(done), ctypes.byref(total))
        bar.start(done.value, total.value)
        # Only the main thread may set handlers; an ignored SIGINT (a job started
        # in the background by a shell) stays ignored, as a shell leaves it.
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            old = signal.signal(signal.SIGINT, on_sigint)
        rc = lib.ls_sweep_run(sw, err)
        if old is not None:
            signal.signal(signal.SIGINT, old)
            old = None
        bar.close()
        if rc < 0:
            raise LesionError(err.text())
        if lib.ls_sweep_finish(sw, None, err) != 0:
            raise LesionError(err.text())
        out_dir = lib.ls_sweep_out_dir(sw).decode()
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
        lib.ls_sweep_free(sw)
    if state["error"] is not None:
        raise state["error"]
    if state["interrupted"]:
        raise KeyboardInterrupt("lesion.sweep interrupted: the finished rows are in %s/results.jsonl (the summary "
                                "says partial); run the same sweep again to finish" % out_dir)
    with open(os.path.join(out_dir, "summary.json"), encoding="utf-8") as f:
        return json.load(f)


def read_results(out):
    """The rows of a sweep folder's results.jsonl (read by the library: a
    torn last line of a live sweep is ignored), as a pandas DataFrame when
    pandas is installed, else a list of dicts."""
    path = os.path.join(os.fspath(out), "results.jsonl")
    err, store, ignored = _lib.Error(), ctypes.c_void_p(), ctypes.c_int()
    if lib.ls_store_read(ctypes.byref(store), path.encode(), ctypes.byref(ignored), err) != 0:
        raise LesionError(err.text())
    try:
        rows = [json.loads(lib.ls_store_row(store, i).decode("utf-8")) for i in range(lib.ls_store_count(store))]
    finally:
        lib.ls_store_close(store)
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows)
