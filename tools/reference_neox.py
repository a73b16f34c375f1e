#!/usr/bin/python3
"""reference_neox: an independent forward pass of GPT-NeoX (model_type
gpt_neox: Pythia, GPT-NeoX-20B) in PyTorch, the yardstick lesion is checked
against.

Like reference_gpt2.py it shares no code with lesion: it reads the Hugging
Face checkpoint as downloaded (config.json, then model.safetensors or the
shards of model.safetensors.index.json; F32/F16/BF16), parses its own
zero-ablation specs and computes in float64 by default. It was written from
the published math; the conventions below were checked against transformers'
GPT-NeoX modeling and config code (facts only, nothing copied).

The model (C = hidden_size, H = num_attention_heads, D = C/H,
F = intermediate_size, R = int(D * rotary_pct) rotary dims per head; every
weight is stored (out, in) and applied as W^T):

    x = embed_in[ids]                                             (T,C)
    per layer l:
        a = LN(x; input_layernorm)                                (T,C)
        qkv = a Wqkv^T + bqkv                                     (T,3C)  Wqkv (3C, C)
        the 3C outputs are interleaved per head: head h owns rows
            [3hD, 3hD+D) for Q, [3hD+D, 3hD+2D) for K, [3hD+2D, 3hD+3D) for V
        q, k: rotary on the first R dims of each head, rotate-half within
            them (pairs (i, i+R/2), i < R/2, angle p * base^(-2i/R) at
            position p, base = rotary_emb_base); dims R..D-1 pass unchanged
        z_h = softmax(q_h k_h^T / sqrt(D), causal) v_h            (T,D)
        attn = concat_h(z_h) Wdense^T + bdense                    Wdense (C, C): columns h*D.. read head h
        use_parallel_residual true (Pythia's setting, the default):
            x = x + attn + mlp(LN(x; post_attention_layernorm))
        use_parallel_residual false:
            x = x + attn
            x = x + mlp(LN(x; post_attention_layernorm))
        mlp(u) = gelu(u W4h^T + b4h) Wh^T + bh                    W4h (F, C), Wh (C, F)
    logits = LN(x; final_layer_norm) embed_out^T                  (T,V)

LN uses the biased variance and eps = layer_norm_eps (default 1e-5); gelu is
the exact 0.5 u (1 + erf(u / sqrt 2)) (hidden_act "gelu"). embed_out is its
own matrix unless tie_word_embeddings is true (then embed_in serves, as
Hugging Face ties them). attention_bias false (a newer config key, default
true) drops bqkv and bdense. Newer configs may give "rope_parameters"
({"rope_theta", "partial_rotary_factor"}) instead of rotary_emb_base and
rotary_pct; both are read.

Refused with a one-line error: model_type other than gpt_neox, hidden_act
other than gelu, rope_scaling other than null/default, R odd, more tokens
than max_position_embeddings. Tensors: gpt_neox.embed_in.weight,
gpt_neox.layers.N.{input_layernorm,post_attention_layernorm}.{weight,bias},
gpt_neox.layers.N.attention.{query_key_value,dense}.{weight,bias},
gpt_neox.layers.N.mlp.{dense_h_to_4h,dense_4h_to_h}.{weight,bias},
gpt_neox.final_layer_norm.{weight,bias}, embed_out.weight. The buffers
gpt_neox.layers.N.attention.{bias,masked_bias,rotary_emb.inv_freq} that
some checkpoints carry are ignored; any other tensor is an error.

Zero-ablation specs (--zero, repeatable; selectors as in reference_gpt2.py:
@L5, @L0-3, @L0,4,7, @all or none = every layer; heads H2, H0-3 after the
layers, attn.* only):
    attn.q@L5H2    rows [6D, 7D) of query_key_value.weight: head 2's Q rows
                   inside the interleaved layout (3hD + 0..D-1)
    attn.k@L5H2    rows 3hD+D..3hD+2D-1;  attn.v@L5H2  rows 3hD+2D..3hD+3D-1
    attn.o@L1H2    columns 2D..3D-1 of attention.dense.weight (what reads head 2)
    mlp.fc@L       mlp.dense_h_to_4h.weight   mlp.proj@L  mlp.dense_4h_to_h.weight
    ln1@L ln2@L    input_layernorm / post_attention_layernorm weight
    lnf            final_layer_norm.weight
    wte[@D0-63]    columns of embed_in; with tie_word_embeddings, also embed_out (one matrix)
    head[@D0-63]   columns of the untied embed_out (its input dims); an error when tied
--with-bias also zeroes the matching bias: the same rows of
query_key_value.bias for attn.q/k/v, all of dense_h_to_4h.bias for mlp.fc,
dense_4h_to_h.bias for mlp.proj, the LayerNorm bias for ln1/ln2/lnf.
attention.dense.bias is added once after the heads are summed, so attn.o
leaves it alone (as reference_gpt2.py does for c_proj.bias).

Intermediates (--dump; names SITE@L<l> per layer, float32):
    resid_pre@L    (T,C)    input of block l
    ln1.out@L      (T,C)    LN(x; input_layernorm)
    attn.q@L attn.k@L attn.v@L   (H,T,D)  q and k after rotary
    attn.pattern@L (H,T,T)  softmax weights
    attn.z@L       (H,T,D)  per-head output before attention.dense
    attn.out@L     (T,C)    attention.dense output, bias included
    resid_mid@L    (T,C)    resid_pre + attn.out. Under the parallel
                            residual this is NOT the MLP's input (the MLP
                            reads resid_pre); resid_post = resid_mid +
                            mlp.out holds in both modes
    ln2.out@L      (T,C)    the MLP's input: LN(resid_pre) when parallel,
                            LN(resid_mid) when sequential
    mlp.pre@L      (T,F)    dense_h_to_4h output (bias included), gelu's input
    mlp.post@L     (T,F)    gelu(mlp.pre)
    mlp.out@L      (T,C)    dense_4h_to_h output, bias included
    resid_post@L   (T,C)
    lnf.out        (T,C)
    logits         (T,V)

Usage:
  reference_neox.py --model DIR --ids 1,2,3 --out logits.npy
  reference_neox.py --model DIR --ids-file F --out logits.npy --zero attn.q@L0-2H1 [--zero ...] [--with-bias]
  reference_neox.py --model DIR --ids 1,2,3 --dump acts.npz      (or --dump DIR: one SITE.npy each)
  [--dtype float64|float32] [--round-bf16]
At least one of --out and --dump. --round-bf16 first rounds every weight
matrix (each 2-D tensor: embeddings, projections, the head) to bfloat16 with
torch's rounding, vectors staying float32 (what a bf16 weight store computes
with), then applies --zero. --out is float32 (T, V) whatever the
compute dtype. Exit 0 on success, 1 with a one-line message on stderr for a
bad checkpoint, spec or ids, 2 for bad usage.
"""
import math
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_common import (RefError, apply_slices, check_ids, check_shape,  # noqa: E402
                              config_int, dim_selector, index_list, layer_head_selector, load_tensors,
                              read_config, run_main)

COMPONENTS = ("attn.q", "attn.k", "attn.v", "attn.o", "mlp.fc", "mlp.proj", "ln1", "ln2", "lnf", "wte", "head")
BUFFERS = re.compile(r"gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)")


# ---- config and weights -------------------------------------------------------------

def load_config(model_dir):
    raw = read_config(model_dir)
    if raw.get("model_type") != "gpt_neox":
        raise RefError("model_type %r is not gpt_neox" % (raw.get("model_type"),))
    act = raw.get("hidden_act", "gelu")
    if act != "gelu":
        raise RefError("hidden_act %r is not implemented (gelu, the exact erf form, is)" % (act,))
    base = raw.get("rotary_emb_base", 10000.0)
    pct = raw.get("rotary_pct", 0.25)
    scaling = raw.get("rope_scaling")
    params = raw.get("rope_parameters")
    if isinstance(params, dict):  # newer configs
        base = params.get("rope_theta", base)
        pct = params.get("partial_rotary_factor", pct)
        scaling = params
    if scaling is not None and (not isinstance(scaling, dict) or
                                scaling.get("rope_type", scaling.get("type", "default")) != "default"):
        raise RefError("rope_scaling %r is not implemented for gpt_neox (null is)" % (scaling,))
    C = config_int(raw, "hidden_size")
    H = config_int(raw, "num_attention_heads")
    if C % H:
        raise RefError("hidden_size %d is not a multiple of num_attention_heads %d" % (C, H))
    D = C // H
    if not isinstance(pct, (int, float)) or not 0 <= pct <= 1:
        raise RefError("rotary_pct %r is not a number in [0, 1]" % (pct,))
    R = int(D * pct)
    if R % 2:
        raise RefError("rotary dims int(%d * %g) = %d is odd; rotary embeddings need pairs" % (D, pct, R))
    return {"n_layer": config_int(raw, "num_hidden_layers"), "n_embd": C, "n_head": H, "d_head": D,
            "d_rot": R, "rope_base": float(base), "d_ff": config_int(raw, "intermediate_size"),
            "vocab_size": config_int(raw, "vocab_size"), "n_ctx": config_int(raw, "max_position_embeddings"),
            "eps": float(raw.get("layer_norm_eps", 1e-5)),
            "parallel": bool(raw.get("use_parallel_residual", True)),
            "bias": bool(raw.get("attention_bias", True)),
            "tied": bool(raw.get("tie_word_embeddings", False))}


def load_model(model_dir):
    """-> (cfg, params): the file's tensor names -> float32 arrays, with
    "embed_out.weight" always present (embed_in itself when tied)."""
    cfg = load_config(model_dir)
    params = {k: v for k, v in load_tensors(model_dir).items() if not BUFFERS.fullmatch(k)}
    L, C, F, V = cfg["n_layer"], cfg["n_embd"], cfg["d_ff"], cfg["vocab_size"]
    expected = {"gpt_neox.embed_in.weight": (V, C), "gpt_neox.final_layer_norm.weight": (C,),
                "gpt_neox.final_layer_norm.bias": (C,)}
    for l in range(L):
        p = "gpt_neox.layers.%d." % l
        expected.update({p + "input_layernorm.weight": (C,), p + "input_layernorm.bias": (C,),
                         p + "post_attention_layernorm.weight": (C,), p + "post_attention_layernorm.bias": (C,),
                         p + "attention.query_key_value.weight": (3 * C, C),
                         p + "attention.dense.weight": (C, C),
                         p + "mlp.dense_h_to_4h.weight": (F, C), p + "mlp.dense_h_to_4h.bias": (F,),
                         p + "mlp.dense_4h_to_h.weight": (C, F), p + "mlp.dense_4h_to_h.bias": (C,)})
        if cfg["bias"]:
            expected.update({p + "attention.query_key_value.bias": (3 * C,), p + "attention.dense.bias": (C,)})
    if cfg["tied"]:
        params.pop("embed_out.weight", None)
    else:
        expected["embed_out.weight"] = (V, C)
    for name, shape in expected.items():
        check_shape(params, name, shape)
    extra = set(params) - set(expected)
    if extra:
        raise RefError("unexpected tensors: %s" % ", ".join(sorted(extra)[:5]))
    if cfg["tied"]:
        params["embed_out.weight"] = params["gpt_neox.embed_in.weight"]
    return cfg, params


# ---- zero-ablation specs --------------------------------------------------------------

def zero_slices(cfg, spec, with_bias=False):
    """spec -> [(tensor name, axis, indices)]: zero rows (axis 0) or columns (1)."""
    L, C, H, D, F = cfg["n_layer"], cfg["n_embd"], cfg["n_head"], cfg["d_head"], cfg["d_ff"]
    target, _, sel = spec.partition("@")
    if target not in COMPONENTS:
        raise RefError("%s: gpt_neox has no component %r (it has %s)" % (spec, target, ", ".join(COMPONENTS)))
    if target == "lnf":
        if sel:
            raise RefError("%s: lnf takes no selector" % spec)
        out = [("gpt_neox.final_layer_norm.weight", 0, list(range(C)))]
        return out + ([("gpt_neox.final_layer_norm.bias", 0, list(range(C)))] if with_bias else [])
    if target in ("wte", "head"):
        dims = dim_selector(spec, sel, C)
        if target == "head":
            if cfg["tied"]:
                raise RefError("%s: the output matrix is tied to wte (use wte)" % spec)
            return [("embed_out.weight", 1, dims)]
        # On a tied model the embedding and the head are one matrix, as in
        # GPT-2: wte zeroes it for both uses.
        names = ["gpt_neox.embed_in.weight"] + (["embed_out.weight"] if cfg["tied"] else [])
        return [(n, 1, dims) for n in names]
    layers, head_text = layer_head_selector(spec, sel, L)
    if head_text is not None and not target.startswith("attn."):
        raise RefError("%s: heads apply to attn.* only" % spec)
    heads = index_list(head_text, H, "head", spec) if head_text else list(range(H))
    out = []
    for l in layers:
        p = "gpt_neox.layers.%d." % l
        if target in ("attn.q", "attn.k", "attn.v"):
            seg = {"attn.q": 0, "attn.k": 1, "attn.v": 2}[target]
            rows = [3 * h * D + seg * D + d for h in heads for d in range(D)]
            out.append((p + "attention.query_key_value.weight", 0, rows))
            if with_bias and cfg["bias"]:
                out.append((p + "attention.query_key_value.bias", 0, rows))
        elif target == "attn.o":
            out.append((p + "attention.dense.weight", 1, [h * D + d for h in heads for d in range(D)]))
        elif target in ("mlp.fc", "mlp.proj"):
            m = p + ("mlp.dense_h_to_4h" if target == "mlp.fc" else "mlp.dense_4h_to_h")
            n_out = F if target == "mlp.fc" else C
            out.append((m + ".weight", 0, list(range(n_out))))
            if with_bias:
                out.append((m + ".bias", 0, list(range(n_out))))
        else:
            ln = p + ("input_layernorm" if target == "ln1" else "post_attention_layernorm")
            out.append((ln + ".weight", 0, list(range(C))))
            if with_bias:
                out.append((ln + ".bias", 0, list(range(C))))
    return out


def apply_zero(cfg, params, spec, with_bias=False):
    apply_slices(params, zero_slices(cfg, spec, with_bias))


# ---- the forward pass ---------------------------------------------------------------------

def layer_norm(x, w, b, eps):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)  # biased
    return (x - mean) / torch.sqrt(var + eps) * w + b


def gelu_exact(u):
    return 0.5 * u * (1.0 + torch.erf(u / math.sqrt(2.0)))


def apply_partial_rope(x, R, base, positions):
    """x (H,T,D): the first R dims of each head rotate pairwise (i, i+R/2) by
    positions * base^(-2i/R); the other D-R dims pass through."""
    if R == 0:
        return x
    freqs = base ** (-torch.arange(0, R, 2, dtype=torch.float64) / R)
    angle = positions.to(torch.float64)[:, None] * freqs[None, :]          # (T,R/2)
    angle = torch.cat((angle, angle), dim=-1).to(x.dtype)                  # (T,R)
    rot, rest = x[..., :R], x[..., R:]
    half = R // 2
    rotated_half = torch.cat((-rot[..., half:], rot[..., :half]), dim=-1)
    return torch.cat((rot * torch.cos(angle) + rotated_half * torch.sin(angle), rest), dim=-1)


def forward(cfg, params, ids, dtype=torch.float64, record=None):
    """ids: list of ints -> logits (T,V) as a torch tensor of dtype. record, a
    dict, receives every named intermediate (see the module comment)."""
    T, C, H, D = len(ids), cfg["n_embd"], cfg["n_head"], cfg["d_head"]
    check_ids(ids, cfg["vocab_size"], cfg["n_ctx"])
    rec = record if record is not None else {}

    def P(name):
        return torch.from_numpy(params[name]).to(dtype)

    def B(name):  # an optional bias (attention_bias false drops two)
        return P(name) if name in params else torch.zeros((), dtype=dtype)

    positions = torch.arange(T)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    x = P("gpt_neox.embed_in.weight")[torch.tensor(ids, dtype=torch.long)]        # (T,C)
    for l in range(cfg["n_layer"]):
        p = "gpt_neox.layers.%d." % l
        rec["resid_pre@L%d" % l] = x
        a = layer_norm(x, P(p + "input_layernorm.weight"), P(p + "input_layernorm.bias"), cfg["eps"])
        rec["ln1.out@L%d" % l] = a
        qkv = a @ P(p + "attention.query_key_value.weight").T + B(p + "attention.query_key_value.bias")
        qkv = qkv.reshape(T, H, 3 * D).transpose(0, 1)                            # (H,T,3D) per head: Q|K|V
        q = apply_partial_rope(qkv[..., :D], cfg["d_rot"], cfg["rope_base"], positions)
        k = apply_partial_rope(qkv[..., D:2 * D], cfg["d_rot"], cfg["rope_base"], positions)
        v = qkv[..., 2 * D:]
        rec["attn.q@L%d" % l], rec["attn.k@L%d" % l], rec["attn.v@L%d" % l] = q, k, v
        scores = (q @ k.transpose(1, 2)) / math.sqrt(D)                           # (H,T,T)
        pattern = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
        z = pattern @ v                                                           # (H,T,D)
        rec["attn.pattern@L%d" % l], rec["attn.z@L%d" % l] = pattern, z
        attn_out = z.transpose(0, 1).reshape(T, C) @ P(p + "attention.dense.weight").T \
            + B(p + "attention.dense.bias")                                       # (T,C)
        rec["attn.out@L%d" % l] = attn_out
        mid = x + attn_out
        rec["resid_mid@L%d" % l] = mid
        m = layer_norm(x if cfg["parallel"] else mid, P(p + "post_attention_layernorm.weight"),
                       P(p + "post_attention_layernorm.bias"), cfg["eps"])
        rec["ln2.out@L%d" % l] = m
        pre = m @ P(p + "mlp.dense_h_to_4h.weight").T + P(p + "mlp.dense_h_to_4h.bias")   # (T,F)
        post = gelu_exact(pre)
        mlp_out = post @ P(p + "mlp.dense_4h_to_h.weight").T + P(p + "mlp.dense_4h_to_h.bias")  # (T,C)
        rec["mlp.pre@L%d" % l], rec["mlp.post@L%d" % l], rec["mlp.out@L%d" % l] = pre, post, mlp_out
        x = mid + mlp_out
        rec["resid_post@L%d" % l] = x
    x = layer_norm(x, P("gpt_neox.final_layer_norm.weight"), P("gpt_neox.final_layer_norm.bias"), cfg["eps"])
    rec["lnf.out"] = x
    logits = x @ P("embed_out.weight").T                                          # (T,V)
    rec["logits"] = logits
    return logits


# ---- command line ----------------------------------------------------------------------------

def main(argv):
    return run_main(argv, "reference_neox",
                    "Independent PyTorch forward pass of GPT-NeoX/Pythia checkpoints "
                    "(reference logits and intermediates).",
                    load_model, apply_zero, forward)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
