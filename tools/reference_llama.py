#!/usr/bin/python3
"""reference_llama: an independent forward pass of the Llama family (model_type
llama, mistral, qwen2) in PyTorch, the yardstick lesion is checked against.

Like reference_gpt2.py it shares no code with lesion: it reads the Hugging
Face checkpoint as downloaded (config.json, then model.safetensors or the
shards of model.safetensors.index.json; F32/F16/BF16), parses its own
zero-ablation specs and computes in float64 by default. It was written from
the published math and Hugging Face's documented conventions (checked
against transformers' modeling code for the facts below, none of it copied).

The model, written out so it can be checked line by line (C = hidden_size,
H = num_attention_heads, KV = num_key_value_heads (default H), D = head_dim
(default C/H), F = intermediate_size; every weight is stored (out, in) and
applied as a W^T):

    x = embed_tokens[ids]                                         (T,C)
    per layer l:
        a = RMS(x; input_layernorm)                               (T,C)
        q = a Wq^T (+ bq)   -> (H,T,D)     Wq (H*D, C): rows h*D..h*D+D-1 = query head h
        k = a Wk^T (+ bk)   -> (KV,T,D)    Wk (KV*D, C): rows g*D..g*D+D-1 = key head g
        v = a Wv^T (+ bv)   -> (KV,T,D)
        q, k = rope(q), rope(k)
        query head h reads key/value head g = h // (H/KV)   (grouped-query attention)
        s = q_h k_g^T / sqrt(D), key j visible from query i iff j <= i
            (and i - j < W under a sliding window W, see below)
        z_h = softmax(s) v_g                                      (T,D)
        attn = concat_h(z_h) Wo^T          Wo (C, H*D): columns h*D..h*D+D-1 read head h
        x = x + attn
        m = RMS(x; post_attention_layernorm)                      (T,C)
        x = x + (silu(m Wg^T) * (m Wu^T)) Wd^T                    gate, up (F,C); down (C,F)
    logits = RMS(x; model.norm) head^T                            (T,V)

RMS(x; w) = x / sqrt(mean(x^2) + rms_norm_eps) * w (no mean, no bias).
silu(u) = u * sigmoid(u). The head is lm_head.weight, or embed_tokens when
tie_word_embeddings is true (a stored lm_head.weight is then ignored, as
Hugging Face ties the two). qwen2 adds the biases bq, bk, bv (o_proj has
none); llama and mistral have no biases.

Rotary embeddings, Hugging Face's rotate-half convention: for i < D/2, dims
i and i + D/2 of every query and key head at position p rotate together by
the angle p * inv_freq[i]:
    out_i       = x_i cos - x_{i+D/2} sin
    out_{i+D/2} = x_{i+D/2} cos + x_i sin
with inv_freq[i] = rope_theta^(-2i/D) (rope_theta default 10000), changed
by rope_scaling ({"rope_type" or legacy "type": ...}):
    linear: inv_freq / factor (the same as positions / factor);
    llama3: with wavelen = 2 pi / inv_freq, lo = original_max_position_embeddings
            / low_freq_factor, hi = original_max_position_embeddings / high_freq_factor:
            wavelen < hi keeps inv_freq; wavelen > lo uses inv_freq / factor;
            otherwise (1 - s) inv_freq / factor + s inv_freq with
            s = (original_max_position_embeddings / wavelen - low_freq_factor)
                / (high_freq_factor - low_freq_factor).
    null or "default": none. Any other type is refused.
Newer configs may carry "rope_parameters" (rope_theta and the scaling keys
in one object) instead; it is read the same way. Hugging Face computes
inv_freq and the angles in float32; this reference in the compute dtype
(float64 by default), which differs by far less than the tests' tolerance.

Sliding window (honoured, never ignored): with window W, query i sees keys
j with i - W < j <= i, that is at most W keys counting itself. This is
Hugging Face's mask (masking_utils' sliding_window_overlay: kv_idx > q_idx -
sliding_window; the older eager mask also gave at most W keys;
transformers issue #29623 records that the flash-attention path once
allowed W + 1). Which layers slide:
    mistral: every layer when sliding_window is a number (null: none);
    qwen2:   only when use_sliding_window is true, and then only layers
             l >= max_window_layers (default 28), as Qwen2Config builds its
             layer_types; sliding_window is ignored otherwise;
    llama:   never;
    an explicit "layer_types" list ("sliding_attention"/"full_attention")
    overrides both rules.

Refused with a one-line error (math this reference does not implement):
model_type other than llama/mistral/qwen2, hidden_act other than silu,
attention_bias true on llama/mistral, mlp_bias true, rope_scaling types other
than linear/llama3, partial_rotary_factor != 1, rope_interleaved true,
num_attention_heads not a multiple of num_key_value_heads, more tokens than
max_position_embeddings. Tensors: the names above under "model.", per layer
model.layers.N.{input_layernorm,post_attention_layernorm}.weight,
self_attn.{q,k,v,o}_proj.weight (+ q,k,v .bias on qwen2),
mlp.{gate,up,down}_proj.weight; model.norm.weight; lm_head.weight unless
tied. self_attn.rotary_emb.inv_freq buffers (old checkpoints) are ignored;
any other tensor, or a wrong shape, is an error.

Zero-ablation specs (--zero, repeatable; selectors as in reference_gpt2.py:
@L5, @L0-3, @L0,4,7, @all or none = every layer; heads H2, H0-3, H1,5 after
the layers, attn.* only):
    attn.q@L5H2    rows 2D..3D-1 of q_proj.weight (query head 2)
    attn.k@L1H0    rows 0..D-1 of k_proj.weight: H counts KEY/VALUE heads
    attn.v@L1H0    (0..KV-1) for attn.k and attn.v, so under GQA one k/v
                   head feeds H/KV query heads (h // (H/KV) == g)
    attn.o@L1H2    columns 2D..3D-1 of o_proj.weight (what reads query head 2)
    mlp.gate@L     gate_proj.weight   mlp.up@L  up_proj.weight
    mlp.down@L     down_proj.weight
    ln1@L ln2@L    input_layernorm / post_attention_layernorm weight
    lnf            model.norm.weight
    wte[@D0-63]    columns of embed_tokens; on a tied model the one matrix
                   both uses share (as GPT-2's wte), so the head changes too
    head[@D0-63]   columns of the untied output matrix lm_head (its input
                   dims); an error on a tied model
--with-bias also zeroes the same rows of q_proj/k_proj/v_proj.bias (qwen2);
nothing else in this family has a bias. A component the family lacks (wpe,
mlp.fc, ...) is an error listing the ones it has.

Intermediates (--dump; names are SITE@L<l> per layer, float32):
    resid_pre@L    (T,C)    input of block l (resid_post of block l-1)
    ln1.out@L      (T,C)    RMS(x; input_layernorm)
    attn.q@L       (H,T,D)  queries after rotary (and bias)
    attn.k@L       (KV,T,D) keys after rotary, one per key/value head
    attn.v@L       (KV,T,D)
    attn.pattern@L (H,T,T)  softmax weights, row i = query position i
    attn.z@L       (H,T,D)  per-head output before o_proj
    attn.out@L     (T,C)    o_proj output
    resid_mid@L    (T,C)    resid_pre + attn.out
    ln2.out@L      (T,C)    RMS(resid_mid; post_attention_layernorm)
    mlp.pre@L      (T,F)    gate pre-activation m Wg^T (the input of silu)
    mlp.up@L       (T,F)    up projection m Wu^T
    mlp.post@L     (T,F)    silu(mlp.pre) * mlp.up, the input of down_proj
    mlp.out@L      (T,C)    down_proj output
    resid_post@L   (T,C)    resid_mid + mlp.out
    lnf.out        (T,C)    RMS(x; model.norm)
    logits         (T,V)

Usage:
  reference_llama.py --model DIR --ids 1,2,3 --out logits.npy
  reference_llama.py --model DIR --ids-file F --out logits.npy --zero attn.q@L0-2 [--zero ...] [--with-bias]
  reference_llama.py --model DIR --ids 1,2,3 --dump acts.npz      (or --dump DIR: one SITE.npy each)
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

FAMILIES = ("llama", "mistral", "qwen2")
COMPONENTS = ("attn.q", "attn.k", "attn.v", "attn.o", "mlp.gate", "mlp.up", "mlp.down",
              "ln1", "ln2", "lnf", "wte", "head")


# ---- config -------------------------------------------------------------------

def _rope_config(raw):
    """-> (theta, scaling) where scaling is None or a dict with "type"."""
    theta = raw.get("rope_theta", 10000.0)
    scaling = raw.get("rope_scaling")
    params = raw.get("rope_parameters")
    if isinstance(params, dict):  # newer configs: theta and scaling in one object
        theta = params.get("rope_theta", theta)
        scaling = params
    if not isinstance(theta, (int, float)) or isinstance(theta, bool) or theta <= 0:
        raise RefError("config.json rope_theta = %r, expected a positive number" % (theta,))
    if scaling is None:
        return float(theta), None
    if not isinstance(scaling, dict):
        raise RefError("config.json rope_scaling = %r, expected an object or null" % (scaling,))
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind == "default":
        return float(theta), None
    need = {"linear": ("factor",),
            "llama3": ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")}
    if kind not in need:
        raise RefError("rope_scaling type %r is not implemented (linear, llama3 and default are)" % (kind,))
    out = {"type": kind}
    for key in need[kind]:
        v = scaling.get(key)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            raise RefError("rope_scaling %s = %r, expected a positive number" % (key, v))
        out[key] = float(v)
    if kind == "llama3" and out["high_freq_factor"] <= out["low_freq_factor"]:
        raise RefError("rope_scaling high_freq_factor %g must exceed low_freq_factor %g"
                       % (out["high_freq_factor"], out["low_freq_factor"]))
    return float(theta), out


def _windows(raw, family, n_layer):
    """Per layer: None (full causal attention) or the sliding window W."""
    if family == "llama":
        return [None] * n_layer
    if family == "mistral":
        w = raw.get("sliding_window")
        uses = [w is not None] * n_layer
    else:  # qwen2
        w = raw.get("sliding_window") if raw.get("use_sliding_window", False) else None
        first = raw.get("max_window_layers", 28)
        uses = [w is not None and l >= first for l in range(n_layer)]
    types = raw.get("layer_types")
    if types is not None:
        if not isinstance(types, list) or len(types) != n_layer or \
                any(t not in ("sliding_attention", "full_attention") for t in types):
            raise RefError("config.json layer_types must list %d of sliding_attention/full_attention" % n_layer)
        uses = [t == "sliding_attention" for t in types]
        if any(uses) and w is None:
            w = raw.get("sliding_window")
    if any(uses) and (not isinstance(w, int) or isinstance(w, bool) or w <= 0):
        raise RefError("config.json sliding_window = %r, expected a positive integer" % (w,))
    return [w if u else None for u in uses]


def load_config(model_dir):
    raw = read_config(model_dir)
    family = raw.get("model_type")
    if family not in FAMILIES:
        raise RefError("model_type %r is not one of %s" % (family, ", ".join(FAMILIES)))
    act = raw.get("hidden_act", "silu")
    if act != "silu":
        raise RefError("hidden_act %r is not implemented (silu is)" % (act,))
    if family != "qwen2" and raw.get("attention_bias", False):
        raise RefError("attention_bias true on %s is not implemented" % family)
    if raw.get("mlp_bias", False):
        raise RefError("mlp_bias true is not implemented")
    if raw.get("rope_interleaved", False):
        raise RefError("rope_interleaved true is not implemented (Hugging Face's rotate-half is)")
    if raw.get("partial_rotary_factor", 1.0) != 1.0:
        raise RefError("partial_rotary_factor %r is not implemented (1.0 is)" % raw["partial_rotary_factor"])
    C = config_int(raw, "hidden_size")
    H = config_int(raw, "num_attention_heads")
    KV = config_int(raw, "num_key_value_heads", H)
    if H % KV:
        raise RefError("num_attention_heads %d is not a multiple of num_key_value_heads %d" % (H, KV))
    if raw.get("head_dim") is not None:
        D = config_int(raw, "head_dim")
    elif C % H:
        raise RefError("hidden_size %d is not a multiple of num_attention_heads %d (and no head_dim)" % (C, H))
    else:
        D = C // H
    if D % 2:
        raise RefError("head_dim %d is odd; rotary embeddings need pairs" % D)
    L = config_int(raw, "num_hidden_layers")
    eps = raw.get("rms_norm_eps", 1e-6)
    theta, scaling = _rope_config(raw)
    return {"family": family, "n_layer": L, "n_embd": C, "n_head": H, "n_kv_head": KV, "d_head": D,
            "d_ff": config_int(raw, "intermediate_size"), "vocab_size": config_int(raw, "vocab_size"),
            "n_ctx": config_int(raw, "max_position_embeddings"), "eps": float(eps),
            "rope_theta": theta, "rope_scaling": scaling, "windows": _windows(raw, family, L),
            "tied": bool(raw.get("tie_word_embeddings", False)), "qkv_bias": family == "qwen2"}


def load_model(model_dir):
    """-> (cfg, params): params maps the file's tensor names to float32 arrays,
    plus "lm_head.weight" always (the embedding itself when tied)."""
    cfg = load_config(model_dir)
    params = load_tensors(model_dir)
    L, C, H, KV, D, F, V = (cfg[k] for k in ("n_layer", "n_embd", "n_head", "n_kv_head", "d_head", "d_ff",
                                             "vocab_size"))
    for name in [n for n in params if re.fullmatch(r"model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq", n)]:
        del params[name]  # a cached buffer, not a parameter
    expected = {"model.embed_tokens.weight": (V, C), "model.norm.weight": (C,)}
    for l in range(L):
        p = "model.layers.%d." % l
        expected.update({p + "input_layernorm.weight": (C,), p + "post_attention_layernorm.weight": (C,),
                         p + "self_attn.q_proj.weight": (H * D, C), p + "self_attn.k_proj.weight": (KV * D, C),
                         p + "self_attn.v_proj.weight": (KV * D, C), p + "self_attn.o_proj.weight": (C, H * D),
                         p + "mlp.gate_proj.weight": (F, C), p + "mlp.up_proj.weight": (F, C),
                         p + "mlp.down_proj.weight": (C, F)})
        if cfg["qkv_bias"]:
            expected.update({p + "self_attn.q_proj.bias": (H * D,), p + "self_attn.k_proj.bias": (KV * D,),
                             p + "self_attn.v_proj.bias": (KV * D,)})
    if cfg["tied"]:
        params.pop("lm_head.weight", None)  # Hugging Face replaces it by the embedding
    else:
        expected["lm_head.weight"] = (V, C)
    for name, shape in expected.items():
        check_shape(params, name, shape)
    extra = set(params) - set(expected)
    if extra:
        raise RefError("unexpected tensors: %s" % ", ".join(sorted(extra)[:5]))
    if cfg["tied"]:
        params["lm_head.weight"] = params["model.embed_tokens.weight"]  # same array; zeroing copies first
    return cfg, params


# ---- zero-ablation specs --------------------------------------------------------

def zero_slices(cfg, spec, with_bias=False):
    """spec -> [(tensor name, axis, indices)]: zero rows (axis 0) or columns (1)."""
    L, C, H, KV, D, F = (cfg[k] for k in ("n_layer", "n_embd", "n_head", "n_kv_head", "d_head", "d_ff"))
    target, _, sel = spec.partition("@")
    if target not in COMPONENTS:
        raise RefError("%s: %s has no component %r (it has %s)" % (spec, cfg["family"], target,
                                                                   ", ".join(COMPONENTS)))
    if target == "lnf":
        if sel:
            raise RefError("%s: lnf takes no selector" % spec)
        return [("model.norm.weight", 0, list(range(C)))]
    if target in ("wte", "head"):
        dims = dim_selector(spec, sel, C)
        if target == "head":
            if cfg["tied"]:
                raise RefError("%s: the output matrix is tied to wte (use wte)" % spec)
            return [("lm_head.weight", 1, dims)]
        # On a tied model the embedding and the head are one matrix, as in
        # GPT-2: wte zeroes it for both uses.
        names = ["model.embed_tokens.weight"] + (["lm_head.weight"] if cfg["tied"] else [])
        return [(n, 1, dims) for n in names]
    layers, head_text = layer_head_selector(spec, sel, L)
    if head_text is not None and not target.startswith("attn."):
        raise RefError("%s: heads apply to attn.* only" % spec)
    if target in ("attn.k", "attn.v"):
        heads = index_list(head_text, KV, "key/value head", spec) if head_text else list(range(KV))
    else:
        heads = index_list(head_text, H, "head", spec) if head_text else list(range(H))
    units = [h * D + d for h in heads for d in range(D)]
    out = []
    for l in layers:
        p = "model.layers.%d." % l
        if target in ("attn.q", "attn.k", "attn.v"):
            proj = p + "self_attn.%s_proj." % target[-1]
            out.append((proj + "weight", 0, units))
            if with_bias and cfg["qkv_bias"]:
                out.append((proj + "bias", 0, units))
        elif target == "attn.o":
            out.append((p + "self_attn.o_proj.weight", 1, units))
        elif target.startswith("mlp."):
            out.append((p + "mlp.%s_proj.weight" % target[4:], 0, list(range(C if target == "mlp.down" else F))))
        else:
            norm = "input_layernorm" if target == "ln1" else "post_attention_layernorm"
            out.append((p + norm + ".weight", 0, list(range(C))))
    return out


def apply_zero(cfg, params, spec, with_bias=False):
    apply_slices(params, zero_slices(cfg, spec, with_bias))


# ---- the forward pass ---------------------------------------------------------------

def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(dim=-1, keepdim=True) + eps) * w


def inv_freq(cfg, dtype):
    """(D/2,) angular frequency of each rotated pair, after rope_scaling."""
    D = cfg["d_head"]
    base = cfg["rope_theta"] ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    s = cfg["rope_scaling"]
    if s is None:
        out = base
    elif s["type"] == "linear":
        out = base / s["factor"]
    else:  # llama3
        wavelen = 2 * math.pi / base
        old = s["original_max_position_embeddings"]
        smooth = (old / wavelen - s["low_freq_factor"]) / (s["high_freq_factor"] - s["low_freq_factor"])
        blended = (1 - smooth) * base / s["factor"] + smooth * base
        out = torch.where(wavelen < old / s["high_freq_factor"], base,
                          torch.where(wavelen > old / s["low_freq_factor"], base / s["factor"], blended))
    return out.to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x, freqs, positions):
    """x (heads,T,D) rotated pairwise (i, i+D/2) by positions (T,) * freqs (D/2,)."""
    angle = positions[:, None] * freqs[None, :]                 # (T,D/2)
    angle = torch.cat((angle, angle), dim=-1)                   # (T,D)
    return x * torch.cos(angle) + rotate_half(x) * torch.sin(angle)


def attention_mask(T, window):
    """(T,T) bool: key j visible from query i."""
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    visible = j <= i
    if window is not None:
        visible = visible & (j > i - window)
    return visible


def forward(cfg, params, ids, dtype=torch.float64, record=None):
    """ids: list of ints -> logits (T,V) as a torch tensor of dtype. record, a
    dict, receives every named intermediate (see the module comment)."""
    T, H, KV, D = len(ids), cfg["n_head"], cfg["n_kv_head"], cfg["d_head"]
    check_ids(ids, cfg["vocab_size"], cfg["n_ctx"])
    rec = record if record is not None else {}

    def P(name):
        return torch.from_numpy(params[name]).to(dtype)

    freqs = inv_freq(cfg, dtype)
    positions = torch.arange(T, dtype=dtype)
    group = H // KV                                                   # query heads per key/value head
    x = P("model.embed_tokens.weight")[torch.tensor(ids, dtype=torch.long)]  # (T,C)
    for l in range(cfg["n_layer"]):
        p = "model.layers.%d." % l
        rec["resid_pre@L%d" % l] = x
        a = rms_norm(x, P(p + "input_layernorm.weight"), cfg["eps"])   # (T,C)
        rec["ln1.out@L%d" % l] = a

        def proj(which, n_heads):
            y = a @ P(p + "self_attn.%s_proj.weight" % which).T          # (T,n*D)
            if cfg["qkv_bias"]:
                y = y + P(p + "self_attn.%s_proj.bias" % which)
            return y.reshape(T, n_heads, D).transpose(0, 1)              # (n,T,D)

        q = apply_rope(proj("q", H), freqs, positions)                  # (H,T,D)
        k = apply_rope(proj("k", KV), freqs, positions)                 # (KV,T,D)
        v = proj("v", KV)                                               # (KV,T,D)
        rec["attn.q@L%d" % l], rec["attn.k@L%d" % l], rec["attn.v@L%d" % l] = q, k, v
        k_per_q = k.repeat_interleave(group, dim=0)                     # (H,T,D): head h <- k[h // group]
        v_per_q = v.repeat_interleave(group, dim=0)
        scores = (q @ k_per_q.transpose(1, 2)) / math.sqrt(D)           # (H,T,T)
        scores = scores.masked_fill(~attention_mask(T, cfg["windows"][l]), float("-inf"))
        pattern = torch.softmax(scores, dim=-1)
        z = pattern @ v_per_q                                           # (H,T,D)
        rec["attn.pattern@L%d" % l], rec["attn.z@L%d" % l] = pattern, z
        attn_out = z.transpose(0, 1).reshape(T, H * D) @ P(p + "self_attn.o_proj.weight").T  # (T,C)
        rec["attn.out@L%d" % l] = attn_out
        x = x + attn_out
        rec["resid_mid@L%d" % l] = x
        m = rms_norm(x, P(p + "post_attention_layernorm.weight"), cfg["eps"])
        rec["ln2.out@L%d" % l] = m
        gate = m @ P(p + "mlp.gate_proj.weight").T                       # (T,F)
        up = m @ P(p + "mlp.up_proj.weight").T                           # (T,F)
        post = torch.nn.functional.silu(gate) * up
        mlp_out = post @ P(p + "mlp.down_proj.weight").T                 # (T,C)
        rec["mlp.pre@L%d" % l], rec["mlp.up@L%d" % l], rec["mlp.post@L%d" % l] = gate, up, post
        rec["mlp.out@L%d" % l] = mlp_out
        x = x + mlp_out
        rec["resid_post@L%d" % l] = x
    x = rms_norm(x, P("model.norm.weight"), cfg["eps"])
    rec["lnf.out"] = x
    logits = x @ P("lm_head.weight").T                                  # (T,V)
    rec["logits"] = logits
    return logits


# ---- command line ----------------------------------------------------------------------

def main(argv):
    return run_main(argv, "reference_llama",
                    "Independent PyTorch forward pass of llama, mistral and qwen2 "
                    "checkpoints (reference logits and intermediates).",
                    load_model, apply_zero, forward)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
