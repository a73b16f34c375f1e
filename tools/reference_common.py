"""reference_common: what the independent PyTorch references share, and
nothing about any model's math.

reference_llama.py and reference_neox.py each write their family's forward
pass out in full; what they have in common is plumbing, kept here once so
the two cannot drift apart in how they read files or parse arguments:

  - reading a checkpoint as downloaded: config.json, then either one
    model.safetensors or the shards named by model.safetensors.index.json
    ({"metadata": {...}, "weight_map": {tensor name: shard file}}); every
    floating tensor comes back as float32 (F16/BF16 widen exactly);
  - token ids from --ids or --ids-file;
  - the spec grammar's selectors: layers (@L5, @L0-3, @L0,4,7, @all or
    nothing = all), heads (H2, H0-3, H1,5 after the layers) and embedding
    dims (D0-63);
  - the command line every reference shares (see add_common_args), and
    writing its outputs atomically: a (T, V) float32 .npy for --out, and the
    named intermediates for --dump, either one .npz (path ends in .npz) or a
    directory with one SITE.npy per site. Nothing is left half-written: each
    file is written under a temporary name and renamed into place.

reference_gpt2.py keeps its own loader (one model.safetensors, GPT-2's
names and Conv1D layout) and its own bf16 rounding (wpe stays float32, as
in lesion), and passes both to run_main.
"""
import json
import os
import re
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402


class RefError(Exception):
    """A one-line message naming what was wrong and what was expected."""


# ---- checkpoints ------------------------------------------------------------

def read_config(model_dir):
    path = os.path.join(model_dir, "config.json")
    try:
        with open(path) as f:
            raw = json.load(f)
    except json.JSONDecodeError as e:
        raise RefError("%s is not valid JSON: %s" % (path, e))
    if not isinstance(raw, dict):
        raise RefError("%s is not a JSON object" % path)
    return raw


def load_tensors(model_dir):
    """Returns dict tensor name -> np.ndarray (floating tensors as float32,
    bool/int buffers as stored) from model.safetensors, or from the shards
    that model.safetensors.index.json lists when there is no single file."""
    single = os.path.join(model_dir, "model.safetensors")
    index_path = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(single):
        files = {"model.safetensors": None}
    elif os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict) or not weight_map:
            raise RefError("%s has no weight_map object" % index_path)
        files = {}
        for name, shard in weight_map.items():
            files.setdefault(shard, set()).add(name)
    else:
        raise RefError("%s has neither model.safetensors nor model.safetensors.index.json" % model_dir)
    out = {}
    for shard, names in files.items():
        if os.path.basename(shard) != shard:
            raise RefError("shard name %r is not a plain file name" % shard)
        tensors, _ = safetensors_np.load(os.path.join(model_dir, shard))
        for name, arr in tensors.items():
            if name in out:
                raise RefError("tensor %s is stored twice (again in %s)" % (name, shard))
            if names is not None and name not in names:
                raise RefError("tensor %s is in %s but the index does not list it there" % (name, shard))
            if np.issubdtype(arr.dtype, np.floating):
                arr = np.array(arr, dtype=np.float32)  # F16/BF16 widened exactly; a private, writable copy
            out[name] = arr
        if names is not None:
            missing = names - set(tensors)
            if missing:
                raise RefError("the index puts %s in %s, which does not hold it" % (sorted(missing)[0], shard))
    return out


def check_shape(params, name, shape):
    if name not in params:
        raise RefError("missing tensor %s" % name)
    if params[name].shape != tuple(shape):
        raise RefError("%s has shape %s, expected %s" % (name, params[name].shape, tuple(shape)))


def config_int(raw, key, default=None):
    v = raw.get(key, default)
    if v is None:
        raise RefError("config.json has no %s" % key)
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise RefError("config.json %s = %r, expected a positive integer" % (key, v))
    return v


# ---- token ids --------------------------------------------------------------

def parse_ids(text):
    try:
        return [int(t) for t in text.replace(",", " ").split()]
    except ValueError:
        raise RefError("token ids must be integers: %r" % text[:80])


def read_ids(args):
    if args.ids is not None:
        return parse_ids(args.ids)
    with open(args.ids_file) as f:
        return parse_ids(f.read())


def check_ids(ids, vocab_size, n_ctx):
    if len(ids) < 1 or len(ids) > n_ctx:
        raise RefError("%d tokens, context holds 1..%d" % (len(ids), n_ctx))
    if min(ids) < 0 or max(ids) >= vocab_size:
        raise RefError("token id out of range 0..%d" % (vocab_size - 1))


# ---- spec selectors ---------------------------------------------------------

def index_list(text, limit, what, spec):
    """"0-2,5" -> [0, 1, 2, 5], each checked against limit."""
    out = []
    for item in text.split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
        if not m:
            raise RefError("%s: bad %s list %r" % (spec, what, text))
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if lo > hi:
            raise RefError("%s: empty %s range %s" % (spec, what, item))
        if hi >= limit:
            raise RefError("%s: %s %s out of range 0..%d" % (spec, what, item, limit - 1))
        out.extend(range(lo, hi + 1))
    return sorted(set(out))


def layer_head_selector(spec, sel, n_layer):
    """"L1-2H0,3" -> (layers [1, 2], head text "0,3" or None). Heads are
    returned as text because their limit depends on the component."""
    m = re.fullmatch(r"(?:L([\d,\-]+)|all|)(?:H([\d,\-]+))?", sel)
    if not m:
        raise RefError("%s: bad selector %r (want L5, L0-3, all, optionally followed by H2 or H0-3)" % (spec, sel))
    layers = index_list(m.group(1), n_layer, "layer", spec) if m.group(1) else list(range(n_layer))
    return layers, m.group(2)


def dim_selector(spec, sel, n_dim):
    m = re.fullmatch(r"(?:D([\d,\-]+))?", sel)
    if not m:
        raise RefError("%s: bad selector %r (want nothing or D0-63)" % (spec, sel))
    return index_list(m.group(1), n_dim, "dim", spec) if m.group(1) else list(range(n_dim))


def round_matrices_bf16(params):
    """Rounds every 2-D tensor (the weight matrices: embeddings, projections,
    the head) to the nearest bfloat16 (ties to even) as
    torch.Tensor.to(torch.bfloat16) does; vectors (norms, biases) stay
    float32. Names that share one array (a tied head) still share one."""
    import torch
    done = {}
    for name, arr in params.items():
        if isinstance(arr, np.ndarray) and arr.ndim == 2:
            if id(arr) not in done:
                done[id(arr)] = torch.from_numpy(arr).to(torch.bfloat16).to(torch.float32).numpy()
            params[name] = done[id(arr)]


def apply_slices(params, slices):
    """Zeroes each (tensor name, axis, indices): rows (axis 0) or columns
    (axis 1). The tensor is copied first, so arrays shared between names (a
    tied head and the embedding) are never zeroed through the other name."""
    for name, axis, idx in slices:
        t = params[name] = params[name].copy()
        if axis == 0:
            t[idx] = 0.0
        else:
            t[:, idx] = 0.0


# ---- command line and outputs -------------------------------------------------

def add_common_args(ap, model_help, round_help="round every weight matrix (2-D tensor) to bfloat16 first, "
                    "with torch's own rounding, before any --zero; vectors stay float32"):
    ap.add_argument("--model", required=True, help=model_help)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--ids", help="comma-separated token ids")
    src.add_argument("--ids-file", help="file of token ids separated by whitespace or commas")
    ap.add_argument("--out", help="float32 .npy of shape (T, V)")
    ap.add_argument("--dump", metavar="NPZ_OR_DIR",
                    help="write every named intermediate: one .npz if the path ends in .npz, "
                    "else a directory of SITE.npy files")
    ap.add_argument("--zero", action="append", default=[], metavar="SPEC", help="zero-ablate a weight slice")
    ap.add_argument("--with-bias", action="store_true", help="--zero also zeroes the matching bias slice")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--round-bf16", action="store_true", help=round_help)


def _atomic(path, write):
    """Calls write(file object) on a temporary file beside path, then renames."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_npy(path, arr):
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    _atomic(path, lambda f: np.save(f, arr))


def write_dump(path, record):
    """record: dict site name -> torch tensor or array, written as float32."""
    arrays = {k: np.ascontiguousarray(np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v),
                                      dtype=np.float32) for k, v in record.items()}
    if path.endswith(".npz"):
        _atomic(path, lambda f: np.savez(f, **arrays))
        return
    os.makedirs(path, exist_ok=True)
    for k, v in arrays.items():
        write_npy(os.path.join(path, k + ".npy"), v)


def run_main(argv, name, description, load_model, apply_zero, forward,
             model_help="dir with config.json and model.safetensors (or shards + model.safetensors.index.json)",
             round_bf16=None, add_args=None, forward_options=None):
    """The command line every reference shares: ids -> model (rounded,
    zero-ablated as asked) -> float32 logits in --out and/or every
    intermediate in --dump; errors as one line, exit 1. A reference may bring
    its own bf16 rounding (round_bf16 = (function, help text)), extra flags
    (add_args(parser)) and keyword arguments for its forward pass computed
    from them (forward_options(args) -> dict). Torch is imported here only,
    so the module stays loadable without it."""
    import argparse
    import torch
    ap = argparse.ArgumentParser(description=description)
    round_fn = round_bf16[0] if round_bf16 else round_matrices_bf16
    if round_bf16:
        add_common_args(ap, model_help, round_bf16[1])
    else:
        add_common_args(ap, model_help)
    if add_args:
        add_args(ap)
    args = ap.parse_args(argv)
    if args.out is None and args.dump is None:
        ap.error("give --out, --dump or both")
    torch.set_num_threads(1)
    try:
        ids = read_ids(args)
        cfg, params = load_model(args.model)
        if args.round_bf16:
            round_fn(params)
        for spec in args.zero:
            apply_zero(cfg, params, spec, args.with_bias)
        record = {} if args.dump else None
        options = forward_options(args) if forward_options else {}
        with torch.no_grad():
            logits = forward(cfg, params, ids, getattr(torch, args.dtype), record, **options)
        if args.out:
            write_npy(args.out, logits.numpy())
        if args.dump:
            write_dump(args.dump, record)
    except (RefError, OSError, KeyError, ValueError) as e:
        print("%s: %s" % (name, e), file=sys.stderr)
        return 1
    return 0
