"""_lib.py: loads liblesion.so and declares the C functions the package calls.

Every declaration here mirrors include/lesion/*.h; the package calls only
these. The library is found, in order: $LESION_LIBRARY, the copy inside this
package (``make python`` or ``pip install ./python`` put it there), then the
system's (an installed liblesion.so.0). ctypes releases the GIL around every
call, so a long forward pass does not freeze other Python threads.
"""
import ctypes
import ctypes.util
import os

SOMAJOR = 0  # the soname's major version this binding was written against

c_int, c_int64, c_double, c_size_t, c_char_p, c_void_p = (
    ctypes.c_int, ctypes.c_int64, ctypes.c_double, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p)
c_uint64, c_float, c_int32 = ctypes.c_uint64, ctypes.c_float, ctypes.c_int32
P_int32 = ctypes.POINTER(c_int32)
P_float = ctypes.POINTER(c_float)


class Error(ctypes.Structure):
    """ls_error: the library's one-line message."""
    _fields_ = [("msg", ctypes.c_char * 768)]

    def text(self):
        return self.msg.decode("utf-8", "replace")


class TextEval(ctypes.Structure):
    """ls_text_eval (experiment.h): what `lesion eval --json` reports."""
    _fields_ = [("tokens", c_int64), ("scored_tokens", c_int64), ("bytes", c_int64),
                ("cross_entropy", c_double), ("perplexity", c_double), ("bits_per_byte", c_double),
                ("ctx", c_int), ("stride", c_int)]


# ls_sweep_progress_fn and the cancel callback of ls_sweep_options (sweep.h).
PROGRESS_FN = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_int, c_int, c_char_p)
CANCELLED_FN = ctypes.CFUNCTYPE(c_int, c_void_p)


class SweepOptions(ctypes.Structure):
    """ls_sweep_options (sweep.h), field for field; 0 / NULL mean the defaults."""
    _fields_ = [("model_dir", c_char_p), ("weights", c_char_p), ("compute", c_char_p), ("plan", c_char_p),
                ("plan_file", c_char_p), ("target", c_char_p), ("layers", c_char_p), ("dim_block", c_int),
                ("allow_duplicates", c_int), ("mode", c_char_p), ("match", c_char_p), ("rng", c_char_p),
                ("with_bias", c_int), ("lesion_seed", c_uint64), ("n_seeds", c_int), ("eval_path", c_char_p),
                ("eval_tokens", c_int64), ("ctx", c_int), ("batch", c_int), ("prompts_path", c_char_p),
                ("gen_tokens", c_int), ("out_dir", c_char_p), ("force", c_int), ("no_prefix_reuse", c_int),
                ("n_threads", c_int), ("shard_index", c_int), ("shard_count", c_int), ("command", c_char_p),
                ("progress", PROGRESS_FN), ("cancelled", CANCELLED_FN), ("cancel", ctypes.POINTER(c_int)),
                ("user", c_void_p), ("ablate", ctypes.POINTER(c_char_p)), ("n_ablate", c_int),
                ("ablate_mode", c_char_p), ("ablate_seed", c_uint64), ("probe", c_char_p), ("probe_text", c_char_p),
                ("probe_tokens", c_int64), ("probe_top", c_int), ("probe_buckets", c_int)]


P_err = ctypes.POINTER(Error)

# name: (restype, argtypes)
_SIGNATURES = {
    "ls_version": (c_char_p, []),
    "ls_free": (None, [c_void_p]),
    "ls_session_open": (c_int, [ctypes.POINTER(c_void_p), c_char_p, c_char_p, c_int, P_err]),
    "ls_session_close": (None, [c_void_p]),
    "ls_session_tokenizer": (c_void_p, [c_void_p]),
    "ls_session_config_json": (c_void_p, [c_void_p]),
    "ls_session_lesion": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p, c_int, c_uint64, c_char_p, P_err]),
    "ls_session_reset": (None, [c_void_p]),
    "ls_session_lesion_count": (c_int, [c_void_p]),
    "ls_session_lesions_json": (c_void_p, [c_void_p]),
    "ls_session_intervene": (c_int, [c_void_p, c_char_p, c_char_p, c_uint64, P_int32, c_int64, c_char_p,
                                     P_int32, c_int, P_err]),
    "ls_session_record": (c_int, [c_void_p, c_char_p, P_err]),
    "ls_session_interventions": (c_void_p, [c_void_p]),
    "ls_session_clear_interventions": (None, [c_void_p]),
    "ls_session_logits": (c_int, [c_void_p, P_int32, c_int, P_float, P_err]),
    "ls_session_generate": (c_int, [c_void_p, P_int32, c_int, c_int, c_double, c_int, c_double, c_uint64,
                                    P_int32, ctypes.POINTER(c_int), P_err]),
    "ls_session_eval": (c_int, [c_void_p, c_char_p, c_size_t, c_int, c_int, c_int64, c_int,
                                ctypes.POINTER(TextEval), P_err]),
    "ls_tokenizer_encode": (c_int, [c_void_p, c_char_p, c_size_t, ctypes.POINTER(P_int32),
                                    ctypes.POINTER(c_size_t), P_err]),
    "ls_tokenizer_encode_input": (c_int, [c_void_p, c_char_p, c_size_t, ctypes.POINTER(P_int32),
                                          ctypes.POINTER(c_size_t), P_err]),
    "ls_tokenizer_decode": (c_int, [c_void_p, P_int32, c_size_t, ctypes.POINTER(c_void_p),
                                    ctypes.POINTER(c_size_t), P_err]),
    "ls_struct_size": (c_size_t, [c_char_p]),
    "ls_sweep_open": (c_int, [ctypes.POINTER(c_void_p), ctypes.POINTER(SweepOptions), P_err]),
    "ls_sweep_free": (None, [c_void_p]),
    "ls_sweep_counts": (None, [c_void_p, ctypes.POINTER(c_int), ctypes.POINTER(c_int)]),
    "ls_sweep_run": (c_int, [c_void_p, P_err]),
    "ls_sweep_finish": (c_int, [c_void_p, c_void_p, P_err]),
    "ls_sweep_out_dir": (c_char_p, [c_void_p]),
    "ls_sweep_resumed": (c_int, [c_void_p]),
    "ls_store_read": (c_int, [ctypes.POINTER(c_void_p), c_char_p, ctypes.POINTER(c_int), P_err]),
    "ls_store_count": (c_int, [c_void_p]),
    "ls_store_row": (c_char_p, [c_void_p, c_int]),
    "ls_store_close": (None, [c_void_p]),
    "ls_interventions_recorded": (P_float, [c_void_p, c_int, c_int, ctypes.POINTER(c_int64),
                                            ctypes.POINTER(c_int64 * 3), ctypes.POINTER(c_int)]),
}


def _candidates():
    env = os.environ.get("LESION_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    found = ctypes.util.find_library("lesion")
    return [os.path.join(here, "liblesion.so"), "liblesion.so.%d" % SOMAJOR] + ([found] if found else [])


def _load():
    # OpenMP's default wait policy spins idle workers at every barrier, which
    # beside any other busy process on the same cores costs several times
    # the run time (src/cli/system.c measures it; the CLI sets the same).
    # libgomp reads the variable when it is loaded, which is now; a value
    # the user set wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append("%s: absent" % path)
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
            continue
        for name, (res, args) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        return lib, path
    raise ImportError("lesion: cannot load liblesion.so (run `make python` in the repository, or install it): "
                      + "; ".join(errors))


lib, path = _load()
version = lib.ls_version().decode()
if int(version.split(".")[0]) != SOMAJOR:
    raise ImportError("lesion: %s is version %s; this binding needs %d.x" % (path, version, SOMAJOR))
# The structs mirrored above must have the library's layout, or calls would
# read past them: a mismatch refuses to load instead.
for _name, _cls in (("ls_error", Error), ("ls_text_eval", TextEval), ("ls_sweep_options", SweepOptions)):
    if lib.ls_struct_size(_name.encode()) != ctypes.sizeof(_cls):
        raise ImportError("lesion: %s's %s is %d bytes, this binding's copy %d: rebuild both (make python)"
                          % (path, _name, lib.ls_struct_size(_name.encode()), ctypes.sizeof(_cls)))


def take_string(ptr):
    """A malloc'd C string from the library as str (freed); None for NULL."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        lib.ls_free(ptr)
