#!/usr/bin/python3
"""reference_gpt2: an independent GPT-2 forward pass in PyTorch, the yardstick
the C library is checked against.

It shares no code with lesion: it reads the Hugging Face checkpoint itself
(config.json + model.safetensors through safetensors_np), parses its own
zero-ablation specs, and computes every logit in float64 by default, so that
any disagreement with lesion's float32 forward pass beyond rounding is a bug
in one of the two, and small enough models make it easy to see which.

The model, written out so it can be checked line by line:

    x = wte[ids] + wpe[0..T-1]                          (T,C)
    per block l:
        a = LN(x; ln_1)                                 (T,C)
        qkv = a @ c_attn.weight + c_attn.bias           (T,3C)  Conv1D: W is (in,out)
        Q, K, V = qkv[:, 0:C], qkv[:, C:2C], qkv[:, 2C:3C]
        head h uses columns h*D..(h+1)*D-1 of each       D = C/H
        att_h = softmax(Q_h K_h^T / sqrt(D), causal)    (T,T)
        y = concat_h(att_h V_h) @ c_proj.weight + c_proj.bias
        x = x + y
        m = LN(x; ln_2) @ c_fc.weight + c_fc.bias       (T,4C)
        x = x + gelu_new(m) @ mlp.c_proj.weight + mlp.c_proj.bias
    logits = LN(x; ln_f) @ head^T                       (T,V)

LN uses the biased variance, eps = layer_norm_epsilon; gelu_new is
0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Keys may carry the
"transformer." prefix; h.{i}.attn.bias / attn.masked_bias buffers (the
causal mask in older checkpoints, float or bool) are ignored. The head is
lm_head.weight when present, else wte. When lm_head.weight is present and
equal to wte, it is the tied head (as Hugging Face ties GPT-2's), so zeroing
part of wte also zeroes it in the head; an lm_head that differs from wte is
a separate head that wte ablations leave alone.

Zero-ablation specs (--zero, repeatable), the subset lesion's tests use:

    attn.q@L0-2      Q columns of c_attn.weight, layers 0..2, all heads
    attn.k@L1H3      K columns 3*D..4*D-1 (head 3) of layer 1
    attn.v@L2H0,5    V columns of heads 0 and 5 of layer 2
    attn.o@L1H2      rows 2*D..3*D-1 of attn.c_proj.weight (what reads head 2)
    mlp.fc@L1        mlp.c_fc.weight        mlp.proj@L1   mlp.c_proj.weight
    ln1@L0 ln2@L0    ln_1 / ln_2 weight     lnf           ln_f.weight
    wte@D0-63        columns 0..63 of wte   wpe           wpe.weight (wpe@D.. too)

Layers: @L5, @L0-3, @L0,4,7, @all (no selector also means all layers).
Heads (attn.* only): H2, H2,7, H0-3, after the layers (@L1H2, @allH0-3).
Only weights are zeroed unless --with-bias, which also zeroes the matching
bias slice: the same columns of c_attn.bias for attn.q/k/v, the same units of
c_fc.bias for mlp.fc, the whole mlp.c_proj.bias for mlp.proj, the LN bias
for ln1/ln2/lnf. attn.o has no per-head bias slice (attn.c_proj.bias is added
once after the heads are summed), so --with-bias leaves it alone; wte/wpe
have no bias.

Intermediates (--dump NPZ_OR_DIR: one .npz if the path ends in .npz, else a
directory of SITE.npy files; float32; the same site names as
reference_llama.py and reference_neox.py, SITE@L<l> per layer):
    resid_pre@L (T,C), ln1.out@L (T,C), attn.q/k/v@L (H,T,D),
    attn.pattern@L (H,T,T), attn.z@L (H,T,D) (per-head output before
    c_proj), attn.out@L (T,C) (c_proj output, bias included), resid_mid@L
    (T,C), ln2.out@L (T,C), mlp.pre@L (T,4C) (c_fc output, gelu's input),
    mlp.post@L (T,4C), mlp.out@L (T,C), resid_post@L (T,C), lnf.out (T,C),
    logits (T,V).
Recording does not change how the logits are computed: attn.out and mlp.out
are evaluated on the side, so resid_mid = resid_pre + attn.out and
resid_post = resid_mid + mlp.out hold to rounding, not bit for bit.

Usage:
  reference_gpt2.py --model DIR --ids 1,2,3 --out logits.npy
  reference_gpt2.py --model DIR --ids-file F --out logits.npy --zero attn.q@L0-2 [--with-bias]
  reference_gpt2.py --model DIR --ids 1,2,3 --dump acts.npz [--out logits.npy]
  [--dtype float64|float32]
At least one of --out and --dump. The output is float32 (T, V) .npy
whatever the compute dtype.
"""
import json
import math
import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402
from reference_common import (RefError, apply_slices, dim_selector, index_list,  # noqa: E402,F401
                              layer_head_selector, parse_ids, run_main)

PER_LAYER = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
             "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
             "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]


# ---- loading ---------------------------------------------------------------

def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        raw = json.load(f)
    n_ctx = raw.get("n_positions", raw.get("n_ctx"))
    cfg = {"n_layer": raw["n_layer"], "n_head": raw["n_head"], "n_embd": raw["n_embd"],
           "n_ctx": n_ctx, "vocab_size": raw["vocab_size"],
           "eps": raw.get("layer_norm_epsilon", 1e-5)}
    if cfg["n_ctx"] is None:
        raise RefError("config.json has neither n_positions nor n_ctx")
    if cfg["n_embd"] % cfg["n_head"]:
        raise RefError("n_embd %d is not a multiple of n_head %d" % (cfg["n_embd"], cfg["n_head"]))
    return cfg


def load_model(model_dir):
    """Returns (cfg, params): params maps canonical names (no "transformer."
    prefix) to float32 numpy arrays; "head" is the output head (V,C) and
    "head_tied" says whether it is wte itself."""
    cfg = load_config(model_dir)
    tensors, _ = safetensors_np.load(os.path.join(model_dir, "model.safetensors"))
    C, V, N = cfg["n_embd"], cfg["vocab_size"], cfg["n_ctx"]
    params = {}
    for key, arr in tensors.items():
        name = key[len("transformer."):] if key.startswith("transformer.") else key
        if re.fullmatch(r"h\.\d+\.attn\.(bias|masked_bias)", name):
            continue  # causal-mask buffers, not parameters
        params[name] = np.array(arr, dtype=np.float32)  # F16/BF16 widened exactly
    expected = {"wte.weight": (V, C), "wpe.weight": (N, C), "ln_f.weight": (C,), "ln_f.bias": (C,)}
    shapes = {"ln_1.weight": (C,), "ln_1.bias": (C,), "attn.c_attn.weight": (C, 3 * C),
              "attn.c_attn.bias": (3 * C,), "attn.c_proj.weight": (C, C), "attn.c_proj.bias": (C,),
              "ln_2.weight": (C,), "ln_2.bias": (C,), "mlp.c_fc.weight": (C, 4 * C),
              "mlp.c_fc.bias": (4 * C,), "mlp.c_proj.weight": (4 * C, C), "mlp.c_proj.bias": (C,)}
    for l in range(cfg["n_layer"]):
        for p in PER_LAYER:
            expected["h.%d.%s" % (l, p)] = shapes[p]
    for name, shape in expected.items():
        if name not in params:
            raise RefError("missing tensor %s" % name)
        if params[name].shape != shape:
            raise RefError("%s has shape %s, expected %s" % (name, params[name].shape, shape))
    head = params.pop("lm_head.weight", None)
    if head is not None and head.shape != (V, C):
        raise RefError("lm_head.weight has shape %s, expected %s" % (head.shape, (V, C)))
    extra = set(params) - set(expected)
    if extra:
        raise RefError("unexpected tensors: %s" % ", ".join(sorted(extra)))
    params["head_tied"] = head is None or np.array_equal(head, params["wte.weight"])
    if not params["head_tied"]:
        params["head"] = head
    return cfg, params


# ---- zero-ablation specs ---------------------------------------------------

def zero_slices(cfg, spec, with_bias=False):
    """Translates a spec into [(tensor name, axis, indices)]: zero
    tensor[indices] along axis (0 = rows, 1 = columns; 1-D tensors use 0)."""
    L, H, C = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
    D = C // H
    target, _, sel = spec.partition("@")
    layered = {"attn.q", "attn.k", "attn.v", "attn.o", "mlp.fc", "mlp.proj", "ln1", "ln2"}
    if target in layered:
        layers, head_text = layer_head_selector(spec, sel, L)
        heads = index_list(head_text, H, "head", spec) if head_text else None
        if heads is not None and not target.startswith("attn."):
            raise RefError("%s: heads apply to attn.* only" % spec)
        heads = heads if heads is not None else list(range(H))
        out = []
        for l in layers:
            p = "h.%d." % l
            if target in ("attn.q", "attn.k", "attn.v"):
                block = {"attn.q": 0, "attn.k": C, "attn.v": 2 * C}[target]
                cols = [block + h * D + d for h in heads for d in range(D)]
                out.append((p + "attn.c_attn.weight", 1, cols))
                if with_bias:
                    out.append((p + "attn.c_attn.bias", 0, cols))
            elif target == "attn.o":
                rows = [h * D + d for h in heads for d in range(D)]
                out.append((p + "attn.c_proj.weight", 0, rows))
            elif target == "mlp.fc":
                out.append((p + "mlp.c_fc.weight", 1, list(range(4 * C))))
                if with_bias:
                    out.append((p + "mlp.c_fc.bias", 0, list(range(4 * C))))
            elif target == "mlp.proj":
                out.append((p + "mlp.c_proj.weight", 1, list(range(C))))
                if with_bias:
                    out.append((p + "mlp.c_proj.bias", 0, list(range(C))))
            else:
                ln = "ln_1" if target == "ln1" else "ln_2"
                out.append((p + ln + ".weight", 0, list(range(C))))
                if with_bias:
                    out.append((p + ln + ".bias", 0, list(range(C))))
        return out
    if target == "lnf":
        if sel:
            raise RefError("%s: lnf takes no selector" % spec)
        out = [("ln_f.weight", 0, list(range(C)))]
        return out + ([("ln_f.bias", 0, list(range(C)))] if with_bias else [])
    if target in ("wte", "wpe"):
        return [(target + ".weight", 1, dim_selector(spec, sel, C))]
    raise RefError("%s: unknown target %r" % (spec, target))


def apply_zero(cfg, params, spec, with_bias=False):
    apply_slices(params, zero_slices(cfg, spec, with_bias))


# ---- the forward pass ------------------------------------------------------

def layer_norm(x, w, b, eps):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)  # biased
    return (x - mean) / torch.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def forward(cfg, params, ids, dtype=torch.float64, record=None, round_inputs=False):
    """ids: list of ints -> logits (T,V) as a torch tensor of dtype. record, a
    dict, receives every named intermediate (--dump); recording leaves the
    arithmetic of the logits exactly as it is without it. round_inputs: the
    input of every weight-matrix product is rounded to bfloat16 first (what
    lesion --compute bf16 does for 4 or more rows)."""
    T, C, H = len(ids), cfg["n_embd"], cfg["n_head"]
    D = C // H
    if T < 1 or T > cfg["n_ctx"]:
        raise RefError("%d tokens, context holds 1..%d" % (T, cfg["n_ctx"]))
    if min(ids) < 0 or max(ids) >= cfg["vocab_size"]:
        raise RefError("token id out of range 0..%d" % (cfg["vocab_size"] - 1))

    def P(name):
        return torch.from_numpy(params[name]).to(dtype)

    rec = record if record is not None else {}

    def R(x):
        return x.to(torch.bfloat16).to(dtype) if round_inputs else x

    idx = torch.tensor(ids, dtype=torch.long)
    x = P("wte.weight")[idx] + P("wpe.weight")[:T]                      # (T,C)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(cfg["n_layer"]):
        p = "h.%d." % l
        rec["resid_pre@L%d" % l] = x
        a = layer_norm(x, P(p + "ln_1.weight"), P(p + "ln_1.bias"), cfg["eps"])
        rec["ln1.out@L%d" % l] = a
        qkv = R(a) @ P(p + "attn.c_attn.weight") + P(p + "attn.c_attn.bias")  # (T,3C)
        heads, sites = [], {"q": [], "k": [], "v": [], "pattern": []}
        for h in range(H):
            q = qkv[:, h * D:(h + 1) * D]                                  # (T,D)
            k = qkv[:, C + h * D:C + (h + 1) * D]
            v = qkv[:, 2 * C + h * D:2 * C + (h + 1) * D]
            scores = (q @ k.T) / math.sqrt(D)                              # (T,T)
            scores = scores.masked_fill(~causal, float("-inf"))
            pattern = torch.softmax(scores, dim=-1)
            heads.append(pattern @ v)                                      # (T,D)
            for site, t in (("q", q), ("k", k), ("v", v), ("pattern", pattern)):
                sites[site].append(t)
        y = torch.cat(heads, dim=1)                                        # (T,C)
        if record is not None:
            for site, ts in sites.items():
                rec["attn.%s@L%d" % (site, l)] = torch.stack(ts)           # (H,T,D) or (H,T,T)
            rec["attn.z@L%d" % l] = torch.stack(heads)                     # (H,T,D)
            rec["attn.out@L%d" % l] = R(y) @ P(p + "attn.c_proj.weight") + P(p + "attn.c_proj.bias")
        x = x + R(y) @ P(p + "attn.c_proj.weight") + P(p + "attn.c_proj.bias")
        rec["resid_mid@L%d" % l] = x
        m = layer_norm(x, P(p + "ln_2.weight"), P(p + "ln_2.bias"), cfg["eps"])
        rec["ln2.out@L%d" % l] = m
        pre = R(m) @ P(p + "mlp.c_fc.weight") + P(p + "mlp.c_fc.bias")    # (T,4C)
        m = gelu_new(pre)
        rec["mlp.pre@L%d" % l], rec["mlp.post@L%d" % l] = pre, m
        if record is not None:
            rec["mlp.out@L%d" % l] = R(m) @ P(p + "mlp.c_proj.weight") + P(p + "mlp.c_proj.bias")
        x = x + R(m) @ P(p + "mlp.c_proj.weight") + P(p + "mlp.c_proj.bias")
        rec["resid_post@L%d" % l] = x
    x = layer_norm(x, P("ln_f.weight"), P("ln_f.bias"), cfg["eps"])
    rec["lnf.out"] = x
    head = P("wte.weight") if params["head_tied"] else P("head")
    logits = R(x) @ head.T                                                 # (T,V)
    rec["logits"] = logits
    return logits


BF16_MATRICES = re.compile(r"wte\.weight|head|h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight")


def round_matrices_bf16(params):
    """Rounds the weight matrices to the nearest bfloat16 (ties to even), as
    torch.Tensor.to(torch.bfloat16) does; vectors stay float32."""
    for name in params:
        if BF16_MATRICES.fullmatch(name):
            params[name] = torch.from_numpy(params[name]).to(torch.bfloat16).to(torch.float32).numpy()


def add_args(ap):
    ap.add_argument("--round-activations-bf16", action="store_true",
                    help="also round the input of every weight product to bfloat16 (with --round-bf16: what "
                    "lesion --weights bf16 --compute bf16 computes for 4 or more positions)")


def main(argv):
    return run_main(argv, "reference_gpt2", "Independent PyTorch GPT-2 forward pass (reference logits).",
                    load_model, apply_zero, forward,
                    model_help="dir with config.json and model.safetensors",
                    round_bf16=(round_matrices_bf16, "round the weight matrices (wte, c_attn, c_proj, c_fc, and an "
                                "untied head; not wpe) to bfloat16 first, with torch's own rounding: what lesion "
                                "--weights bf16 computes with"),
                    add_args=add_args,
                    forward_options=lambda args: {"round_inputs": args.round_activations_bf16})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
