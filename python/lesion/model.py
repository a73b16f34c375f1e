"""model.py: lesion.Model, a model opened in the library (an ls_session).

Every method is one or two library calls (include/lesion/session.h); what
Python adds is argument checking, numpy arrays and exceptions. The numbers
are the CLI's: .logits is bitwise `lesion logits`, .generate is `lesion
generate`, .eval is `lesion eval --json`, .activations is `lesion
activations`, because the session runs the same library functions.

Errors: wrong argument types raise TypeError and bad values ValueError,
before any C call; whatever the library refuses raises LesionError with
its one-line message.
"""
import contextlib
import ctypes
import json
import numbers
import functools
import os
import sys
import threading

import numpy as np

from . import _lib
from ._lib import lib

__all__ = ["Model", "LesionError", "bundled_model_dir"]


class LesionError(Exception):
    """An error reported by liblesion (its one-line message)."""


def _check(rc, err):
    if rc < 0:
        raise LesionError(err.text())
    return rc


def bundled_model_dir():
    """The bundled model (models/kjv-gpt2): $LESION_MODEL, else the
    repository's models/ beside python/, else <prefix>/share/lesion/models/
    of an installed lesion (next to the loaded library's lib/, sys.prefix,
    /usr/local, /usr)."""
    env = os.environ.get("LESION_MODEL")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    libdir = os.path.dirname(os.path.realpath(_lib.path)) if os.sep in _lib.path else None
    candidates = [os.path.join(here, "..", "..", "models", "kjv-gpt2")]
    prefixes = ([os.path.join(libdir, "..")] if libdir else []) + [sys.prefix, "/usr/local", "/usr"]
    candidates += [os.path.join(p, "share", "lesion", "models", "kjv-gpt2") for p in prefixes]
    for c in candidates:
        if os.path.isfile(os.path.join(c, "config.json")):
            return os.path.realpath(c)
    raise LesionError("the bundled model is not found (looked in %s); pass path= or set LESION_MODEL"
                      % ", ".join(os.path.normpath(c) for c in candidates))


def _usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _is_int(x):
    return isinstance(x, (numbers.Integral, np.integer)) and not isinstance(x, bool)


def _int_arg(name, v, lo, hi=None):
    if not _is_int(v):
        raise TypeError("%s must be an integer, not %s" % (name, type(v).__name__))
    if v < lo or (hi is not None and v > hi):
        raise ValueError("%s=%d: expected %d..%s" % (name, v, lo, hi if hi is not None else ""))
    return int(v)


def _float_arg(name, v, lo, hi):
    if not isinstance(v, (numbers.Real, np.floating)) or isinstance(v, bool):
        raise TypeError("%s must be a number, not %s" % (name, type(v).__name__))
    v = float(v)
    if not (lo <= v <= hi):
        raise ValueError("%s=%g: expected %g..%g" % (name, v, lo, hi))
    return v


def _str_arg(name, v):
    if not isinstance(v, str):
        raise TypeError("%s must be a str, not %s" % (name, type(v).__name__))
    if "\0" in v:
        raise ValueError("%s contains a NUL character" % name)
    return v


def _text_arg(name, v):
    """Text to encode: any str (NULs are text too; it is passed with its length)."""
    if not isinstance(v, str):
        raise TypeError("%s must be a str, not %s" % (name, type(v).__name__))
    return v


def _list_arg(name, v):
    """A site or spec list: one string or a sequence of them, as one ';'-joined string."""
    items = [v] if isinstance(v, str) else list(v) if isinstance(v, (list, tuple)) else None
    if items is None:
        raise TypeError("%s must be a str or a list of str, not %s" % (name, type(v).__name__))
    for s in items:
        _str_arg(name, s)
        if not s.strip() or ";" in s:
            raise ValueError("%s: %r is not one item" % (name, s))
    if not items:
        raise ValueError("%s is empty" % name)
    return ";".join(s.strip() for s in items).encode()


def _locked(method):
    """Runs method holding the model's lock: ctypes releases the GIL during C
    calls, and a session is for one thread at a time (session.h), so two
    threads sharing a Model take turns instead of racing in C."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return run


class Model:
    """A model opened in liblesion.

    path: a model directory in Hugging Face layout (None: the bundled
    kjv-gpt2); weights: "f32" (mapped from the file), "f32-copy" or "bf16",
    as the CLI's --weights; threads: worker threads (None: the CPUs this
    process may use; results do not depend on it).
    """

    def __init__(self, path=None, weights="f32", threads=None):
        self._s = None
        self._lock = threading.RLock()
        if path is None:
            path = bundled_model_dir()
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError("path must be a str or os.PathLike, not %s" % type(path).__name__)
        path = os.fspath(path)
        _str_arg("weights", weights)
        if weights not in ("f32", "f32-copy", "bf16"):
            raise ValueError("weights=%r: expected 'f32', 'f32-copy' or 'bf16'" % weights)
        cpus = _usable_cpus()
        threads = cpus if threads is None else min(_int_arg("threads", threads, 1, 1024), cpus)
        err = _lib.Error()
        s = ctypes.c_void_p()
        _check(lib.ls_session_open(ctypes.byref(s), path.encode(), weights.encode(), threads, err), err)
        self._s = s
        self._tok = lib.ls_session_tokenizer(s)
        self.path = path
        self.weights = weights
        self.threads = threads
        self.config = json.loads(_lib.take_string(lib.ls_session_config_json(s)))
        self.vocab_size = self.config["vocab_size"]
        self.n_ctx = self.config["n_ctx"]
        self._applied = []  # lesion() calls since the last reset, to restore after lesioned()

    @_locked
    def close(self):
        """Frees the model now (else when the object is collected)."""
        if self._s:
            lib.ls_session_close(self._s)
            self._s = None

    def __del__(self):
        try:
            if getattr(self, "_s", None):
                lib.ls_session_close(self._s)
                self._s = None
        except Exception:  # interpreter shutdown: the module may be half gone
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "lesion.Model(%r, weights=%r, threads=%d)%s" % (
            self.path, self.weights, self.threads, " lesioned" if self._applied else "")

    def _live(self):
        if not self._s:
            raise ValueError("the model is closed")
        return self._s

    # ---- tokens ---------------------------------------------------------------

    @_locked
    def tokenize(self, text, input=True):
        """Token ids of text (list of int). input=True: as the model's input,
        with the tokenizer's prefix if it has one (Llama's BOS; nothing for
        GPT-2), as the commands that run a model encode a prompt;
        input=False: the plain encoding of `lesion tokenize`."""
        raw = _text_arg("text", text).encode("utf-8", "surrogatepass")  # lone surrogates: the library refuses them
        self._live()
        err, ids, n = _lib.Error(), _lib.P_int32(), ctypes.c_size_t()
        fn = lib.ls_tokenizer_encode_input if input else lib.ls_tokenizer_encode
        _check(fn(self._tok, raw, len(raw), ctypes.byref(ids), ctypes.byref(n), err), err)
        try:
            return ids[:n.value]
        finally:
            lib.ls_free(ids)

    @_locked
    def detokenize_bytes(self, ids):
        """The exact bytes ids decode to."""
        a = self._ids("ids", ids, allow_empty=True, text=False)
        err, text, n = _lib.Error(), ctypes.c_void_p(), ctypes.c_size_t()
        self._live()
        _check(lib.ls_tokenizer_decode(self._tok, a.ctypes.data_as(_lib.P_int32), len(a), ctypes.byref(text),
                                       ctypes.byref(n), err), err)
        try:
            return ctypes.string_at(text, n.value)
        finally:
            lib.ls_free(text)

    def detokenize(self, ids, errors="replace"):
        """The text ids decode to (bytes that are not UTF-8 become U+FFFD)."""
        return self.detokenize_bytes(ids).decode("utf-8", errors)

    def _ids(self, name, ids, allow_empty=False, max_len=None, text=True):
        """ids (a str is tokenized as input if text) as a contiguous int32 array, checked."""
        if isinstance(ids, str) and text:
            ids = self.tokenize(ids)
        if isinstance(ids, np.ndarray):
            if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
                raise TypeError("%s must be a 1-D array of integers, got %s of shape %s" % (name, ids.dtype, ids.shape))
            a = ids
        elif isinstance(ids, (list, tuple, range)):
            if not all(_is_int(i) for i in ids):
                raise TypeError("%s must hold integers" % name)
            a = np.array(ids, dtype=np.int64) if len(ids) else np.zeros(0, dtype=np.int64)
        else:
            raise TypeError("%s must be a list of ints, a 1-D integer array or a str, not %s" % (name, type(ids).__name__))
        if a.size == 0 and not allow_empty:
            raise ValueError("%s is empty (need at least one token)" % name)
        if a.size and (a.min() < 0 or a.max() >= self.vocab_size):
            bad = a[(a < 0) | (a >= self.vocab_size)][0]
            raise ValueError("%s: token id %d is outside the vocabulary (0..%d)" % (name, bad, self.vocab_size - 1))
        if max_len is not None and a.size > max_len:
            raise ValueError("%s: %d tokens exceed %d (the context length %d)" % (name, a.size, max_len, self.n_ctx))
        return np.ascontiguousarray(a, dtype=np.int32)

    # ---- lesions --------------------------------------------------------------

    @_locked
    def lesion(self, spec, mode="gauss", seed=0, match="tensor", with_bias=False, rng="philox"):
        """Applies a lesion on top of those applied (the CLI's --lesion SPEC
        with --mode, --lesion-seed, --match, --with-bias, --rng). spec: one
        spec ("attn.q@L0-3", "mlp.fc@L5D0-63") or a list. Returns self."""
        specs = _list_arg("spec", spec)
        for n, v in (("mode", mode), ("match", match), ("rng", rng)):
            _str_arg(n, v)
        seed = _int_arg("seed", seed, 0, 2**64 - 1)
        if not isinstance(with_bias, (bool, np.bool_)):
            raise TypeError("with_bias must be a bool")
        err = _lib.Error()
        _check(lib.ls_session_lesion(self._live(), specs, mode.encode(), match.encode(), int(with_bias), seed,
                                     rng.encode(), err), err)
        self._applied.append(dict(spec=spec, mode=mode, seed=seed, match=match, with_bias=with_bias, rng=rng))
        return self

    @_locked
    def reset(self):
        """Undoes every lesion: the clean weights, bitwise."""
        lib.ls_session_reset(self._live())
        self._applied = []
        return self

    @property
    def lesions(self):
        """The lesion() calls in force, as their arguments (list of dicts)."""
        return [dict(a) for a in self._applied]

    @_locked
    def lesion_stats(self):
        """What the applied lesions did: one dict per lesioned slice (tensor,
        head, elements, mean and std before and after)."""
        text = _lib.take_string(lib.ls_session_lesions_json(self._live()))
        return json.loads(text) if text else []

    @contextlib.contextmanager
    def lesioned(self, spec, mode="gauss", seed=0, match="tensor", with_bias=False, rng="philox"):
        """``with model.lesioned("attn.q@L0-3"):`` runs the block on the
        lesioned model and then restores the weights as they were before it
        (bitwise), also when the block raises."""
        before = list(self._applied)
        self.lesion(spec, mode=mode, seed=seed, match=match, with_bias=with_bias, rng=rng)
        try:
            yield self
        finally:
            self.reset()
            for a in before:  # replayed lesions draw the same numbers: same bits
                self.lesion(**a)

    # ---- interventions (--ablate, --patch) -------------------------------------

    @contextlib.contextmanager
    def _interventions(self, ablate=None, ablate_mode="zero", ablate_seed=0, reference=None, patch=None,
                       patch_from=None, record=None, input_len=None):
        s = self._live()
        _str_arg("ablate_mode", ablate_mode)
        if ablate_mode not in ("zero", "mean", "resample"):
            raise ValueError("ablate_mode=%r: expected 'zero', 'mean' or 'resample'" % ablate_mode)
        ablate_seed = _int_arg("ablate_seed", ablate_seed, 0, 2**64 - 1)
        if ablate is None and (ablate_mode != "zero" or ablate_seed or reference is not None):
            raise ValueError("ablate_mode, ablate_seed and reference have no effect without ablate=SITES")
        if (patch is None) != (patch_from is None):
            raise ValueError("patch=SITES and patch_from=(text or ids) go together")
        if ablate is None and patch is None and record is None:
            yield None
            return
        err = _lib.Error()
        abl = _list_arg("ablate", ablate) if ablate is not None else None
        pat = _list_arg("patch", patch) if patch is not None else None
        ref = None
        if abl is not None and ablate_mode != "zero":
            if reference is None:
                with open(os.path.join(self.config["model"], "heldout.txt"), encoding="utf-8") as f:
                    reference = f.read()
            ref = self._ids("reference", self.tokenize(_text_arg("reference", reference)), allow_empty=True)
        src = self._ids("patch_from", patch_from, max_len=self.n_ctx) if pat is not None else None
        if src is not None and input_len is not None and len(src) != input_len:
            raise ValueError("patch_from has %d tokens but the input has %d (patching needs equal lengths)"
                             % (len(src), input_len))
        try:
            if abl is not None or pat is not None:
                _check(lib.ls_session_intervene(
                    s, abl, ablate_mode.encode(), ablate_seed,
                    ref.ctypes.data_as(_lib.P_int32) if ref is not None else None, len(ref) if ref is not None else 0,
                    pat, src.ctypes.data_as(_lib.P_int32) if src is not None else None,
                    len(src) if src is not None else 0, err), err)
            first = None
            if record is not None:
                first = _check(lib.ls_session_record(s, record, err), err)
            yield first
        finally:
            lib.ls_session_clear_interventions(s)

    # ---- running the model ------------------------------------------------------

    @_locked
    def logits(self, ids, ablate=None, ablate_mode="zero", ablate_seed=0, reference=None, patch=None,
               patch_from=None):
        """Logits of every position, float32 (T, V): bitwise `lesion logits`
        for the same ids, lesions and interventions. ids: a list or 1-D
        integer array, or a str (tokenized as input). ablate / patch: sites
        (str or list), as --ablate / --patch; patch_from: the source input
        (text or ids, as many tokens as ids)."""
        a = self._ids("ids", ids, max_len=self.n_ctx)
        out = np.empty((len(a), self.vocab_size), dtype=np.float32)
        with self._interventions(ablate, ablate_mode, ablate_seed, reference, patch, patch_from, input_len=len(a)):
            err = _lib.Error()
            _check(lib.ls_session_logits(self._s, a.ctypes.data_as(_lib.P_int32), len(a),
                                         out.ctypes.data_as(_lib.P_float), err), err)
        return out

    @_locked
    def generate_ids(self, prompt, tokens=40, temperature=0.0, top_k=0, top_p=1.0, seed=0, ablate=None,
                     ablate_mode="zero", ablate_seed=0, reference=None, patch=None, patch_from=None):
        """The generated token ids (list of int); see generate."""
        tokens = _int_arg("tokens", tokens, 0, self.n_ctx)
        temperature = _float_arg("temperature", temperature, 0.0, 100.0)
        top_k = _int_arg("top_k", top_k, 0, 2**30)
        top_p = _float_arg("top_p", top_p, 0.0, 1.0)
        if top_p == 0.0:
            raise ValueError("top_p=0 keeps no token: expected (0, 1] (1 keeps every token)")
        seed = _int_arg("seed", seed, 0, 2**64 - 1)
        p = self._ids("prompt", prompt)
        if len(p) + tokens > self.n_ctx:
            raise ValueError("prompt of %d tokens + %d new tokens exceeds the context length %d"
                             % (len(p), tokens, self.n_ctx))
        out = np.empty(max(tokens, 1), dtype=np.int32)
        n_out = ctypes.c_int()
        with self._interventions(ablate, ablate_mode, ablate_seed, reference, patch, patch_from, input_len=len(p)):
            err = _lib.Error()
            _check(lib.ls_session_generate(self._s, p.ctypes.data_as(_lib.P_int32), len(p), tokens, temperature,
                                           top_k, top_p, seed, out.ctypes.data_as(_lib.P_int32),
                                           ctypes.byref(n_out), err), err)
        return out[:n_out.value].tolist()

    def generate(self, prompt, tokens=40, temperature=0.0, top_k=0, top_p=1.0, seed=0, **interventions):
        """The continuation of prompt (str, without the prompt), equal to
        the "text" of `lesion generate --json` with the same settings:
        temperature 0 is greedy; top_k 0 and top_p 1 are off; the same seed
        gives the same text on any thread count. Keyword arguments ablate,
        patch, ... as for logits."""
        return self.detokenize(self.generate_ids(prompt, tokens, temperature, top_k, top_p, seed, **interventions))

    @_locked
    def eval(self, text=None, file=None, ctx=None, stride=None, max_tokens=None, batch=8, ablate=None,
             ablate_mode="zero", ablate_seed=0, reference=None):
        """Cross-entropy, perplexity and bits per byte of a text: the keys
        and values of `lesion eval --json` (file: the path, None for text=).
        Neither text nor file: the model's heldout.txt. ctx: window length
        (None: the model's context); stride: tokens between windows (None:
        ctx / 2); max_tokens: score only the first N tokens."""
        if text is not None and file is not None:
            raise ValueError("give text or file, not both")
        if text is not None:
            raw = _text_arg("text", text).encode("utf-8", "surrogatepass")
        else:
            if file is None:
                file = os.path.join(self.config["model"], "heldout.txt")
            if not isinstance(file, (str, os.PathLike)):
                raise TypeError("file must be a path, not %s" % type(file).__name__)
            file = os.fspath(file)
            if not os.path.isfile(file):
                raise LesionError("%s: not a regular file" % file)
            with open(file, "rb") as f:
                raw = f.read()
        ctx = 0 if ctx is None else _int_arg("ctx", ctx, 2, self.n_ctx)
        stride = 0 if stride is None else _int_arg("stride", stride, 1, (ctx or self.n_ctx) - 1)
        max_tokens = 0 if max_tokens is None else _int_arg("max_tokens", max_tokens, 2)
        batch = _int_arg("batch", batch, 1, 1024)
        res = _lib.TextEval()
        with self._interventions(ablate, ablate_mode, ablate_seed, reference):
            err = _lib.Error()
            _check(lib.ls_session_eval(self._s, raw, len(raw), ctx, stride, max_tokens, batch, ctypes.byref(res),
                                       err), err)
        return {"file": file, "tokens": res.tokens, "scored_tokens": res.scored_tokens, "bytes": res.bytes,
                "cross_entropy": res.cross_entropy, "perplexity": res.perplexity,
                "bits_per_byte": res.bits_per_byte, "ctx": res.ctx, "stride": res.stride}

    @_locked
    def activations(self, ids, sites, ablate=None, ablate_mode="zero", ablate_seed=0, reference=None, patch=None,
                    patch_from=None):
        """Named activations of one input, as `lesion activations` writes
        them: {"resid_post@L3": array, "attn.z@L1": ..., "logits": ...}, one
        float32 array per site and layer, (T, width) for row sites, (T, H, D)
        for attn.q/k/v/z, (H, T, T) for attn.pattern (T the selected
        positions, H the selected heads). sites: str or list, e.g.
        "resid_post@all", "attn.z@L1H2", "attn.pattern@L3". Interventions as
        for logits; the records see their result."""
        a = self._ids("ids", ids, max_len=self.n_ctx)
        rec = _list_arg("sites", sites)
        names = [s.split("@")[0] for s in rec.decode().split(";")]
        out = {}
        logits = np.empty((len(a), self.vocab_size), dtype=np.float32)
        with self._interventions(ablate, ablate_mode, ablate_seed, reference, patch, patch_from, record=rec,
                                 input_len=len(a)) as first:
            err = _lib.Error()
            _check(lib.ls_session_logits(self._s, a.ctypes.data_as(_lib.P_int32), len(a),
                                         logits.ctypes.data_as(_lib.P_float), err), err)
            iv = lib.ls_session_interventions(self._s)
            rows, dims, ndim = ctypes.c_int64(), (ctypes.c_int64 * 3)(), ctypes.c_int()
            for r, name in enumerate(names):
                for layer in range(-1, self.config["n_layer"]):
                    v = lib.ls_interventions_recorded(iv, first + r, layer, ctypes.byref(rows), ctypes.byref(dims),
                                                      ctypes.byref(ndim))
                    if not v:
                        continue
                    shape = (rows.value,) + tuple(dims[:ndim.value])
                    if name == "attn.pattern":  # one sequence: (H, T, keys)
                        shape = shape[1:]
                    n = int(np.prod(shape))
                    arr = np.ctypeslib.as_array(v, shape=(n,)).copy().reshape(shape)
                    out[name if layer < 0 else "%s@L%d" % (name, layer)] = arr
        return out
