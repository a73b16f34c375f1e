#!/usr/bin/python3
"""reference_selftest: checks the independent references (reference_llama.py,
reference_neox.py, reference_gpt2.py's --dump) and make_family_checkpoint.py
without lesion's C code, so that when lesion and a reference disagree, the
reference has already been shown right on its own. Run by
tests/e2e/reference_selftest.sh.

Three kinds of evidence, each a check that can fail:
  1. a second implementation, structurally different: plain numpy with
     explicit loops over positions, heads and rotary pairs, rotary done by
     complex multiplication, the config read again on its own, the
     interleaved query_key_value indexed element by element. Its logits and
     every intermediate the references dump (same names) must match the
     torch references to 1e-9 (both float64) on llama (MHA, GQA, MQA,
     llama3 and linear rope scaling, head_dim != C/H, tied), mistral
     (sliding window), qwen2 (biases, sliding upper layers), gpt_neox
     (parallel and sequential residual, rotary_pct 0.25, 0.5, 1, tied) and
     GPT-2 (reference_gpt2.py's --dump);
  2. properties with known answers: GQA equals MHA with the key/value heads
     duplicated; rope equals a complex rotation and depends only on
     relative position; llama3 frequencies fall in their three bands;
     zeroing a head's Q rows (and bias) makes exactly that head's pattern
     uniform; zeroing attn.o / attn.v / wte / head moves exactly what it
     names; dumps obey resid_post@L == resid_pre@L+1,
     resid_post = resid_mid + mlp.out, rows of attn.pattern sum to 1 and
     respect the causal and sliding masks; float32 agrees with float64 to
     1e-4; shards, F16/BF16 and stored buffers load as the plain file does;
  3. refusals: unimplemented config keys and impossible specs give exit 1
     and one line naming the key or component.

Each check prints "ok   NAME: detail" or "FAIL NAME: detail"; the exit code is
the number of failures (capped at 1). Usage: reference_selftest.py [WORKDIR]
"""
import cmath
import contextlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import regex
import torch

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import bpe_train  # noqa: E402
import make_checkpoint  # noqa: E402
import make_family_checkpoint  # noqa: E402
import reference_common  # noqa: E402
import reference_gpt2  # noqa: E402
import reference_llama  # noqa: E402
import reference_neox  # noqa: E402
import safetensors_np  # noqa: E402

PY = sys.executable
RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append(bool(ok))
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, ": " + detail if detail else ""))


def maxdiff(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.abs(a - b).max()) if a.size else 0.0


# ---- the second implementation: numpy, explicit loops ---------------------------------

def _rms(v, w, eps):
    return v / math.sqrt(sum(e * e for e in v) / len(v) + eps) * w


def _layer_norm(v, w, b, eps):
    mu = sum(v) / len(v)
    var = sum((e - mu) ** 2 for e in v) / len(v)
    return (v - mu) / math.sqrt(var + eps) * w + b


def _rotate(vec, n_rot, freqs, pos):
    """Rotates pairs (i, i + n_rot/2) of vec[:n_rot] as complex numbers."""
    out = vec.copy()
    half = n_rot // 2
    for i in range(half):
        z = complex(vec[i], vec[i + half]) * cmath.exp(1j * pos * freqs[i])
        out[i], out[i + half] = z.real, z.imag
    return out


def _attend(qs, ks, vs, t, visible_from, weights_row):
    """One query position t over keys visible_from..t, softmax by hand; the
    weights go into weights_row (T,), the output is returned."""
    D = len(qs)
    scores = [float(np.dot(qs, ks[j])) / math.sqrt(D) for j in range(visible_from, t + 1)]
    top = max(scores)
    e = [math.exp(s - top) for s in scores]
    total = sum(e)
    out = np.zeros(len(vs[0]))
    for n, j in enumerate(range(visible_from, t + 1)):
        weights_row[j] = e[n] / total
        out += e[n] / total * vs[j]
    return out


def loop_llama(model_dir, ids, sites=None):
    """Llama/mistral/qwen2 logits (T,V), float64, read and computed
    independently; sites, a dict, receives the intermediates it computes
    under reference_llama.py's names."""
    sites = {} if sites is None else sites
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    W = {k: v.astype(np.float64) for k, v in reference_common.load_tensors(model_dir).items()}
    C, H, L = c["hidden_size"], c["num_attention_heads"], c["num_hidden_layers"]
    KV = c.get("num_key_value_heads") or H
    D = c.get("head_dim") or C // H
    eps = c["rms_norm_eps"]
    freqs = []
    for i in range(D // 2):
        f = c.get("rope_theta", 10000.0) ** (-(2.0 * i) / D)
        s = c.get("rope_scaling")
        if s and s["rope_type"] == "linear":
            f = f / s["factor"]
        elif s and s["rope_type"] == "llama3":
            wavelen = 2 * math.pi / f
            if wavelen > s["original_max_position_embeddings"] / s["low_freq_factor"]:
                f = f / s["factor"]
            elif wavelen >= s["original_max_position_embeddings"] / s["high_freq_factor"]:
                mix = (s["original_max_position_embeddings"] / wavelen - s["low_freq_factor"]) / \
                    (s["high_freq_factor"] - s["low_freq_factor"])
                f = mix * f + (1 - mix) * f / s["factor"]
        freqs.append(f)
    window = [None] * L
    if c["model_type"] == "mistral" and c.get("sliding_window"):
        window = [c["sliding_window"]] * L
    if c["model_type"] == "qwen2" and c.get("use_sliding_window"):
        window = [c["sliding_window"] if l >= c["max_window_layers"] else None for l in range(L)]
    T = len(ids)
    x = np.array([W["model.embed_tokens.weight"][i] for i in ids])
    for l in range(L):
        p = "model.layers.%d." % l
        sites["resid_pre@L%d" % l] = x
        a = np.array([_rms(x[t], W[p + "input_layernorm.weight"], eps) for t in range(T)])
        sites["ln1.out@L%d" % l] = a

        def proj(n):
            y = a @ W[p + "self_attn.%s_proj.weight" % n].T
            return y + W[p + "self_attn.%s_proj.bias" % n] if p + "self_attn.%s_proj.bias" % n in W else y
        q, k, v = proj("q"), proj("k"), proj("v")
        qr = np.array([[_rotate(q[t, h * D:(h + 1) * D], D, freqs, t) for t in range(T)] for h in range(H)])
        kr = np.array([[_rotate(k[t, g * D:(g + 1) * D], D, freqs, t) for t in range(T)] for g in range(KV)])
        vs = np.array([[v[t, g * D:(g + 1) * D] for t in range(T)] for g in range(KV)])
        pattern, z = np.zeros((H, T, T)), np.zeros((T, H * D))
        for h in range(H):
            g = h * KV // H
            for t in range(T):
                first = 0 if window[l] is None else max(0, t - window[l] + 1)
                z[t, h * D:(h + 1) * D] = _attend(qr[h, t], kr[g], vs[g], t, first, pattern[h, t])
        attn = z @ W[p + "self_attn.o_proj.weight"].T
        sites.update({"attn.q@L%d" % l: qr, "attn.k@L%d" % l: kr, "attn.v@L%d" % l: vs,
                      "attn.pattern@L%d" % l: pattern, "attn.z@L%d" % l: z.reshape(T, H, D).transpose(1, 0, 2),
                      "attn.out@L%d" % l: attn})
        x = x + attn
        sites["resid_mid@L%d" % l] = x
        m = np.array([_rms(x[t], W[p + "post_attention_layernorm.weight"], eps) for t in range(T)])
        sites["ln2.out@L%d" % l] = m
        gate, up = m @ W[p + "mlp.gate_proj.weight"].T, m @ W[p + "mlp.up_proj.weight"].T
        post = gate / (1 + np.exp(-gate)) * up
        out = post @ W[p + "mlp.down_proj.weight"].T
        sites.update({"mlp.pre@L%d" % l: gate, "mlp.up@L%d" % l: up, "mlp.post@L%d" % l: post,
                      "mlp.out@L%d" % l: out})
        x = x + out
        sites["resid_post@L%d" % l] = x
    x = np.array([_rms(x[t], W["model.norm.weight"], eps) for t in range(T)])
    sites["lnf.out"] = x
    head = W["model.embed_tokens.weight"] if c.get("tie_word_embeddings") else W["lm_head.weight"]
    return x @ head.T


def loop_neox(model_dir, ids, sites=None):
    """GPT-NeoX logits (T,V), float64, read and computed independently;
    sites receives the intermediates under reference_neox.py's names."""
    sites = {} if sites is None else sites
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    W = {k: v.astype(np.float64) for k, v in reference_common.load_tensors(model_dir).items()}
    C, H, L = c["hidden_size"], c["num_attention_heads"], c["num_hidden_layers"]
    D = C // H
    R = int(D * c["rotary_pct"])
    freqs = [c["rotary_emb_base"] ** (-(2.0 * i) / R) for i in range(R // 2)]
    eps = c["layer_norm_eps"]
    T = len(ids)

    def ln(rows, name):
        return np.array([_layer_norm(r, W[name + ".weight"], W[name + ".bias"], eps) for r in rows])

    x = np.array([W["gpt_neox.embed_in.weight"][i] for i in ids])
    for l in range(L):
        p = "gpt_neox.layers.%d." % l
        sites["resid_pre@L%d" % l] = x
        a = ln(x, p + "input_layernorm")
        sites["ln1.out@L%d" % l] = a
        qkv = a @ W[p + "attention.query_key_value.weight"].T + W[p + "attention.query_key_value.bias"]

        def part(h, t, seg):  # head h's Q (0), K (1) or V (2) at position t, element by element
            return np.array([qkv[t, 3 * h * D + seg * D + d] for d in range(D)])
        qr = np.array([[_rotate(part(h, t, 0), R, freqs, t) for t in range(T)] for h in range(H)])
        kr = np.array([[_rotate(part(h, t, 1), R, freqs, t) for t in range(T)] for h in range(H)])
        vs = np.array([[part(h, t, 2) for t in range(T)] for h in range(H)])
        pattern, z = np.zeros((H, T, T)), np.zeros((T, C))
        for h in range(H):
            for t in range(T):
                z[t, h * D:(h + 1) * D] = _attend(qr[h, t], kr[h], vs[h], t, 0, pattern[h, t])
        attn = z @ W[p + "attention.dense.weight"].T + W[p + "attention.dense.bias"]
        sites.update({"attn.q@L%d" % l: qr, "attn.k@L%d" % l: kr, "attn.v@L%d" % l: vs,
                      "attn.pattern@L%d" % l: pattern, "attn.z@L%d" % l: z.reshape(T, H, D).transpose(1, 0, 2),
                      "attn.out@L%d" % l: attn})
        mlp_in = ln(x if c["use_parallel_residual"] else x + attn, p + "post_attention_layernorm")
        sites["resid_mid@L%d" % l], sites["ln2.out@L%d" % l] = x + attn, mlp_in
        pre = mlp_in @ W[p + "mlp.dense_h_to_4h.weight"].T + W[p + "mlp.dense_h_to_4h.bias"]
        post = np.vectorize(lambda e: 0.5 * e * (1 + math.erf(e / math.sqrt(2))))(pre)
        out = post @ W[p + "mlp.dense_4h_to_h.weight"].T + W[p + "mlp.dense_4h_to_h.bias"]
        sites.update({"mlp.pre@L%d" % l: pre, "mlp.post@L%d" % l: post, "mlp.out@L%d" % l: out})
        x = x + attn + out
        sites["resid_post@L%d" % l] = x
    x = ln(x, "gpt_neox.final_layer_norm")
    sites["lnf.out"] = x
    head = W["gpt_neox.embed_in.weight"] if c.get("tie_word_embeddings") else W["embed_out.weight"]
    return x @ head.T


def loop_gpt2(model_dir, ids, sites):
    """GPT-2 logits (T,V) and intermediates, float64, loop by loop (c_attn is
    (in, out): Q, K, V are column blocks of C, head h their columns h*D..)."""
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    W = {k[len("transformer."):] if k.startswith("transformer.") else k: v.astype(np.float64)
         for k, v in reference_common.load_tensors(model_dir).items()}
    C, H, L = c["n_embd"], c["n_head"], c["n_layer"]
    D, T = C // H, len(ids)

    def ln(rows, name):
        return np.array([_layer_norm(r, W[name + ".weight"], W[name + ".bias"], c["layer_norm_epsilon"])
                         for r in rows])

    x = np.array([W["wte.weight"][i] + W["wpe.weight"][t] for t, i in enumerate(ids)])
    for l in range(L):
        p = "h.%d." % l
        sites["resid_pre@L%d" % l] = x
        a = ln(x, p + "ln_1")
        qkv = a @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = (np.array([[qkv[t, s * C + h * D:s * C + (h + 1) * D] for t in range(T)] for h in range(H)])
                   for s in range(3))
        pattern, z = np.zeros((H, T, T)), np.zeros((H, T, D))
        for h in range(H):
            for t in range(T):
                z[h, t] = _attend(q[h, t], k[h], v[h], t, 0, pattern[h, t])
        attn = z.transpose(1, 0, 2).reshape(T, C) @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        x = x + attn
        m = ln(x, p + "ln_2")
        pre = m @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]
        post = 0.5 * pre * (1 + np.tanh(math.sqrt(2 / math.pi) * (pre + 0.044715 * pre ** 3)))
        out = post @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
        sites.update({"ln1.out@L%d" % l: a, "attn.q@L%d" % l: q, "attn.k@L%d" % l: k, "attn.v@L%d" % l: v,
                      "attn.pattern@L%d" % l: pattern, "attn.z@L%d" % l: z, "attn.out@L%d" % l: attn,
                      "resid_mid@L%d" % l: x, "ln2.out@L%d" % l: m, "mlp.pre@L%d" % l: pre,
                      "mlp.post@L%d" % l: post, "mlp.out@L%d" % l: out})
        x = x + out
        sites["resid_post@L%d" % l] = x
    x = ln(x, "ln_f")
    sites["lnf.out"] = x
    return x @ W["wte.weight"].T


# ---- helpers over the references -------------------------------------------------------------

REFS = {"llama": reference_llama, "mistral": reference_llama, "qwen2": reference_llama,
        "gpt_neox": reference_neox}


def make(work, name, family, *args):
    out = os.path.join(work, name)
    make_family_checkpoint.main(["--family", family, "--out", out] + [str(a) for a in args])
    return out


def family_of(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)["model_type"]


def run_ref(model_dir, ids, zero=(), with_bias=False, dtype=torch.float64, record=None):
    ref = REFS[family_of(model_dir)]
    cfg, params = ref.load_model(model_dir)
    for spec in zero:
        ref.apply_zero(cfg, params, spec, with_bias)
    with torch.no_grad():
        return ref.forward(cfg, params, ids, dtype, record).numpy()


def dump(model_dir, ids, zero=(), with_bias=False):
    rec = {}
    run_ref(model_dir, ids, zero, with_bias, record=rec)
    return {k: v.numpy() for k, v in rec.items()}


def run_main(module, argv):
    """-> (exit code, stderr text) of module.main(argv), in this process."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            rc = module.main(argv)
        except SystemExit as e:
            rc = e.code
    return rc, err.getvalue()


def edit_config(src, dst, **changes):
    shutil.copytree(src, dst)
    path = os.path.join(dst, "config.json")
    with open(path) as f:
        c = json.load(f)
    for k, v in changes.items():
        if v is None and k.startswith("drop_"):
            c.pop(k[5:], None)
        else:
            c[k] = v
    with open(path, "w") as f:
        json.dump(c, f)
    return dst


def ids_for(n, vocab, seed):
    return [int(i) for i in np.random.default_rng(seed).integers(0, vocab, n)]


def uniform_rows(pattern, window=None):
    """(T,T) pattern with every visible key weighted 1/count."""
    T = pattern.shape[-1]
    want = np.zeros((T, T))
    for i in range(T):
        first = 0 if window is None else max(0, i - window + 1)
        want[i, first:i + 1] = 1.0 / (i + 1 - first)
    return want


# ---- the checks ----------------------------------------------------------------------------

def check_second_implementation(work):
    cases = [
        ("llama MHA untied", "llama", [], loop_llama),
        ("llama GQA 4/2 tied head_dim 16 llama3 rope T=40", "llama",
         ["--kv-heads", 2, "--head-dim", 16, "--tied", "--rope-scaling", "llama3", "--ctx", 64], loop_llama),
        ("llama MQA 4/1 linear rope theta 500000", "llama",
         ["--kv-heads", 1, "--rope-scaling", "linear", "--rope-theta", 500000], loop_llama),
        ("mistral GQA sliding window 5", "mistral", ["--kv-heads", 2, "--sliding-window", 5], loop_llama),
        ("qwen2 biases GQA tied, layers 1.. slide window 4", "qwen2",
         ["--kv-heads", 2, "--tied", "--sliding-window", 4, "--layers", 2], loop_llama),
        ("gpt_neox parallel rotary 0.25", "gpt_neox", [], loop_neox),
        ("gpt_neox sequential rotary 1.0", "gpt_neox", ["--parallel-residual", "false", "--rotary-pct", 1.0],
         loop_neox),
        ("gpt_neox parallel rotary 0.5 D=16", "gpt_neox", ["--heads", 2, "--rotary-pct", 0.5], loop_neox),
        ("gpt_neox tied, sequential, rotary_emb_base 500", "gpt_neox",
         ["--tied", "--parallel-residual", "false", "--rope-theta", 500], loop_neox),
    ]
    for n, (label, family, args, loop) in enumerate(cases):
        d = make(work, "second%d" % n, family, "--seed", 10 + n, *args)
        T = 40 if "T=40" in label else 12
        ids = ids_for(T, 320, n)
        sites = {}
        want = loop(d, ids, sites)
        got = dump(d, ids)
        delta = maxdiff(got["logits"], want)
        check("second implementation: " + label, delta < 1e-9 and np.abs(want).max() > 0.5,
              "max|delta| %.2e over %d logits (max |logit| %.2f)" % (delta, want.size, np.abs(want).max()))
        worst = max(sites, key=lambda k: maxdiff(got[k], sites[k]))
        check("second implementation, %d intermediates: %s" % (len(sites), label),
              maxdiff(got[worst], sites[worst]) < 1e-9 and len(sites) == len(got) - 1,
              "worst %s: max|delta| %.2e" % (worst, maxdiff(got[worst], sites[worst])))


def check_gqa_equals_duplicated_mha(work):
    d = make(work, "gqa", "llama", "--kv-heads", 2, "--heads", 4, "--seed", 3)
    mha = os.path.join(work, "gqa-as-mha")
    os.makedirs(mha)
    with open(os.path.join(d, "config.json")) as f:
        c = json.load(f)
    c["num_key_value_heads"] = 4
    with open(os.path.join(mha, "config.json"), "w") as f:
        json.dump(c, f)
    t = reference_common.load_tensors(d)
    D = 32 // 4
    for name in list(t):
        if name.endswith(("k_proj.weight", "v_proj.weight")):
            # query head h reads kv head h // 2: give it a private copy of that head
            t[name] = np.concatenate([t[name][(h // 2) * D:(h // 2 + 1) * D] for h in range(4)])
    safetensors_np.save(os.path.join(mha, "model.safetensors"), t)
    ids = ids_for(16, 320, 5)
    a, b = run_ref(d, ids), run_ref(mha, ids)
    check("GQA (4 query, 2 kv heads) == MHA with kv heads duplicated as h // 2", maxdiff(a, b) < 1e-12,
          "max|delta| %.2e" % maxdiff(a, b))
    # The same duplication in the other grouping (h % 2) must not match: the check can fail.
    for name in list(t):
        if name.endswith(("k_proj.weight", "v_proj.weight")):
            src = reference_common.load_tensors(d)[name]
            t[name] = np.concatenate([src[(h % 2) * D:(h % 2 + 1) * D] for h in range(4)])
    safetensors_np.save(os.path.join(mha, "model.safetensors"), t)
    c_wrong = run_ref(mha, ids)
    check("GQA grouping h % 2 instead gives different logits", maxdiff(a, c_wrong) > 1e-2,
          "max|delta| %.2e" % maxdiff(a, c_wrong))


def check_rope(work):
    rng = np.random.default_rng(0)
    H, T, D = 3, 20, 16
    x = rng.normal(size=(H, T, D))
    for theta in (10000.0, 500000.0):
        cfg = {"d_head": D, "rope_theta": theta, "rope_scaling": None}
        got = reference_llama.apply_rope(torch.from_numpy(x), reference_llama.inv_freq(cfg, torch.float64),
                                         torch.arange(T, dtype=torch.float64)).numpy()
        want = np.empty_like(x)
        for h in range(H):
            for t in range(T):
                zc = (x[h, t, :D // 2] + 1j * x[h, t, D // 2:]) * np.exp(1j * t * theta ** (-np.arange(0, D, 2) / D))
                want[h, t] = np.concatenate([zc.real, zc.imag])
        check("rope theta %g == complex rotation of pairs (i, i+D/2)" % theta, maxdiff(got, want) < 1e-12,
              "max|delta| %.2e" % maxdiff(got, want))
        # q.k after rope depends only on the offset: shift both positions by 7.
        q, k = x[0, 0], x[1, 0]
        f = reference_llama.inv_freq(cfg, torch.float64)

        def at(v, pos):
            return reference_llama.apply_rope(torch.from_numpy(v)[None, None], f,
                                              torch.tensor([float(pos)], dtype=torch.float64))[0, 0].numpy()
        s1, s2 = float(at(q, 9) @ at(k, 4)), float(at(q, 16) @ at(k, 11))
        check("rope theta %g: q.k depends on relative position only" % theta, abs(s1 - s2) < 1e-12,
              "%.12f vs %.12f" % (s1, s2))
    # neox partial rotary: the pass-through dims are untouched, the rest as above.
    got = reference_neox.apply_partial_rope(torch.from_numpy(x), 8, 10000.0, torch.arange(T)).numpy()
    zc = (x[..., :4] + 1j * x[..., 4:8]) * np.exp(1j * np.arange(T)[:, None] * 10000.0 ** (-np.arange(0, 8, 2) / 8))
    want = np.concatenate([zc.real, zc.imag, x[..., 8:]], axis=-1)
    check("neox partial rope (8 of 16 dims) == complex rotation, dims 8.. unchanged", maxdiff(got, want) < 1e-12,
          "max|delta| %.2e" % maxdiff(got, want))
    # llama3 scaling: every frequency lands in one of the three bands.
    cfg = {"d_head": 16, "rope_theta": 10000.0, "rope_scaling": {
        "type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 32.0}}
    f = reference_llama.inv_freq(cfg, torch.float64).numpy()
    base = 10000.0 ** (-np.arange(0, 16, 2) / 16)
    wl = 2 * np.pi / base
    kept, divided = wl < 8, wl > 32
    mid = ~kept & ~divided
    ratio = f / base
    ok = (np.allclose(ratio[kept], 1) and np.allclose(ratio[divided], 1 / 8)
          and np.all((ratio[mid] > 1 / 8) & (ratio[mid] < 1)) and kept.any() and divided.any() and mid.any())
    check("llama3 rope: high frequencies kept, low divided by factor, middle blended", ok,
          "ratios %s" % np.round(ratio, 4).tolist())
    lin = dict(cfg, rope_scaling={"type": "linear", "factor": 4.0})
    check("linear rope: inv_freq / factor", np.allclose(reference_llama.inv_freq(lin, torch.float64).numpy(),
                                                        base / 4, rtol=1e-14))


def check_neox_residual_modes(work):
    par = make(work, "neox-par", "gpt_neox", "--seed", 21)
    seq = edit_config(par, os.path.join(work, "neox-seq"), use_parallel_residual=False)
    ids = ids_for(12, 320, 1)
    a, b = run_ref(par, ids), run_ref(seq, ids)
    check("gpt_neox parallel and sequential residual differ on the same weights", maxdiff(a, b) > 1e-2,
          "max|delta| %.2e" % maxdiff(a, b))
    for label, d in (("parallel", par), ("sequential", seq)):
        r = dump(d, ids)
        mid_in = r["resid_pre@L0"] if label == "parallel" else r["resid_mid@L0"]
        cfg, params = reference_neox.load_model(d)
        want = reference_neox.layer_norm(torch.from_numpy(mid_in), torch.from_numpy(
            params["gpt_neox.layers.0.post_attention_layernorm.weight"]).double(), torch.from_numpy(
            params["gpt_neox.layers.0.post_attention_layernorm.bias"]).double(), 1e-5).numpy()
        check("gpt_neox %s: ln2.out@L0 normalises %s" % (label, "resid_pre" if label == "parallel" else "resid_mid"),
              maxdiff(r["ln2.out@L0"], want) < 1e-12)


def dump_identities(label, r, n_layer, windows=None, head=None):
    bad = []
    for l in range(n_layer):
        if l + 1 < n_layer and not np.array_equal(r["resid_post@L%d" % l], r["resid_pre@L%d" % (l + 1)]):
            bad.append("resid_post@L%d != resid_pre@L%d" % (l, l + 1))
        if maxdiff(r["resid_post@L%d" % l], r["resid_mid@L%d" % l] + r["mlp.out@L%d" % l]) > 1e-12:
            bad.append("resid_post != resid_mid + mlp.out at L%d" % l)
        if maxdiff(r["resid_mid@L%d" % l], r["resid_pre@L%d" % l] + r["attn.out@L%d" % l]) > 1e-12:
            bad.append("resid_mid != resid_pre + attn.out at L%d" % l)
        p = r["attn.pattern@L%d" % l]
        if maxdiff(p.sum(-1), np.ones(p.shape[:2])) > 1e-12:
            bad.append("attn.pattern@L%d rows do not sum to 1" % l)
        T = p.shape[-1]
        w = windows[l] if windows else None
        hidden = np.array([[j > i or (w is not None and j <= i - w) for j in range(T)] for i in range(T)])
        if np.any(p[:, hidden] != 0) or np.any(p[:, ~hidden] <= 0):
            bad.append("attn.pattern@L%d is nonzero exactly off its mask" % l)
    if head is not None and maxdiff(r["lnf.out"] @ head.T, r["logits"]) > 1e-10:
        bad.append("logits != lnf.out @ head^T")
    check("dump identities (%s)" % label, not bad, "; ".join(bad[:3]) or "%d sites" % len(r))


def check_dumps(work):
    ids = ids_for(14, 320, 2)
    d = make(work, "dump-llama", "llama", "--kv-heads", 2, "--head-dim", 16, "--seed", 4)
    r = dump(d, ids)
    cfg, params = reference_llama.load_model(d)
    dump_identities("llama GQA", r, 2, head=params["lm_head.weight"].astype(np.float64))
    shapes = {"attn.q@L0": (4, 14, 16), "attn.k@L0": (2, 14, 16), "attn.v@L1": (2, 14, 16),
              "attn.pattern@L1": (4, 14, 14), "attn.z@L0": (4, 14, 16), "mlp.pre@L0": (14, 64),
              "mlp.up@L0": (14, 64), "mlp.post@L1": (14, 64), "attn.out@L0": (14, 32), "logits": (14, 320)}
    wrong = {k: r[k].shape for k, s in shapes.items() if r[k].shape != s}
    check("llama dump shapes: attn.k (KV,T,D), attn.q (H,T,D), mlp.* (T,F)", not wrong, str(wrong))
    silu = r["mlp.pre@L0"] / (1 + np.exp(-r["mlp.pre@L0"]))
    check("llama mlp.post == silu(mlp.pre) * mlp.up", maxdiff(r["mlp.post@L0"], silu * r["mlp.up@L0"]) < 1e-12)
    w = make(work, "dump-mistral", "mistral", "--sliding-window", 4, "--seed", 5)
    dump_identities("mistral, window 4", dump(w, ids), 2, windows=[4, 4])
    q = make(work, "dump-qwen2", "qwen2", "--sliding-window", 3, "--layers", 2, "--seed", 6)
    dump_identities("qwen2, layer 1 window 3", dump(q, ids), 2, windows=[None, 3])
    for par in ("true", "false"):
        n = make(work, "dump-neox-" + par, "gpt_neox", "--parallel-residual", par, "--seed", 7)
        r = dump(n, ids)
        cfg, params = reference_neox.load_model(n)
        dump_identities("gpt_neox parallel=" + par, r, 2, head=params["embed_out.weight"].astype(np.float64))
        gelu = 0.5 * r["mlp.pre@L1"] * (1 + np.vectorize(math.erf)(r["mlp.pre@L1"] / math.sqrt(2)))
        check("gpt_neox parallel=%s mlp.post == erf gelu(mlp.pre)" % par, maxdiff(r["mlp.post@L1"], gelu) < 1e-12)
    g = os.path.join(work, "gpt2")
    make_checkpoint.main(["--layers", "3", "--heads", "4", "--embd", "32", "--vocab", "97", "--ctx", "64",
                          "--std", "0.2", "--seed", "8", "--out", g])
    rec = {}
    cfg, params = reference_gpt2.load_model(g)
    with torch.no_grad():
        clean = reference_gpt2.forward(cfg, params, ids_for(14, 97, 3), torch.float64).numpy()
        reference_gpt2.forward(cfg, params, ids_for(14, 97, 3), torch.float64, rec)
    r = {k: v.numpy() for k, v in rec.items()}
    check("gpt2 --dump logits equal the logits without recording, bit for bit", np.array_equal(r["logits"], clean))
    sites = {}
    loop_gpt2(g, ids_for(14, 97, 3), sites)
    worst = max(sites, key=lambda k: maxdiff(r[k], sites[k]))
    check("gpt2 dump: all %d intermediates match the loop implementation" % len(sites),
          maxdiff(r[worst], sites[worst]) < 1e-9 and len(sites) == len(r) - 1,
          "worst %s: max|delta| %.2e" % (worst, maxdiff(r[worst], sites[worst])))
    bad = [k for k in r if k.startswith(("resid_mid", "resid_post"))
           and maxdiff(r[k], r[k.replace("resid_mid", "resid_pre").replace("resid_post", "resid_mid")]
                       + r[k.replace("resid_mid", "attn.out").replace("resid_post", "mlp.out")]) > 1e-12]
    check("gpt2 dump: resid_mid = resid_pre + attn.out, resid_post = resid_mid + mlp.out", not bad, str(bad))
    dump_identities("gpt2", r, 3, head=params["wte.weight"].astype(np.float64))


def check_ablations(work):
    ids = ids_for(12, 320, 4)
    # qwen2: q = bias alone after zeroing Q rows, so only --with-bias makes layer 0 uniform.
    q = make(work, "abl-qwen2", "qwen2", "--kv-heads", 2, "--seed", 31)
    plain = dump(q, ids, ["attn.q@L0"])["attn.pattern@L0"]
    wb = dump(q, ids, ["attn.q@L0"], True)["attn.pattern@L0"]
    want = uniform_rows(wb[0])
    delta = maxdiff(wb, np.broadcast_to(want, wb.shape))
    check("qwen2 zero attn.q@L0 --with-bias: every head of layer 0 attends uniformly", delta < 1e-12,
          "max|delta| %.2e" % delta)
    check("qwen2 zero attn.q@L0 without --with-bias keeps q = bias (not uniform)",
          maxdiff(plain, np.broadcast_to(want, plain.shape)) > 1e-3)
    # llama GQA: attn.k@L0H0 names kv head 0, read by query heads 0 and 1 only.
    g = make(work, "abl-gqa", "llama", "--kv-heads", 2, "--seed", 32)
    clean, abl = dump(g, ids), dump(g, ids, ["attn.k@L0H0"])
    p, c = abl["attn.pattern@L0"], clean["attn.pattern@L0"]
    ok = maxdiff(p[:2], np.broadcast_to(uniform_rows(p[0]), p[:2].shape)) < 1e-12 and np.array_equal(p[2:], c[2:])
    check("llama GQA zero attn.k@L0H0: query heads 0,1 uniform, heads 2,3 unchanged", ok)
    abl = dump(g, ids, ["attn.v@L1"])
    check("llama zero attn.v@L1 (all kv heads): attn.out@L1 == 0, resid_mid == resid_pre",
          not abl["attn.out@L1"].any() and np.array_equal(abl["resid_mid@L1"], abl["resid_pre@L1"]))
    cfg, params = reference_llama.load_model(g)
    wo = params["model.layers.1.self_attn.o_proj.weight"].astype(np.float64)
    z = clean["attn.z@L1"]
    want = sum(z[h] @ wo[:, h * 8:(h + 1) * 8].T for h in (0, 1, 3))
    abl = dump(g, ids, ["attn.o@L1H2"])
    check("llama zero attn.o@L1H2 == clean z of heads 0,1,3 through o_proj",
          maxdiff(abl["attn.out@L1"], want) < 1e-12 and maxdiff(abl["logits"], clean["logits"]) > 1e-3)
    rc, err = run_main(reference_llama, ["--model", g, "--ids", "1,2", "--out", os.path.join(work, "x.npy"),
                                         "--zero", "attn.k@L0H2"])
    check("llama GQA attn.k@L0H2 (2 kv heads) is an error naming the range",
          rc == 1 and "key/value head 2 out of range 0..1" in err and err.count("\n") == 1, err.strip())
    # tied llama: wte zeroes the one shared matrix (both uses, as GPT-2's wte); head is an error.
    t = make(work, "abl-tied", "llama", "--tied", "--seed", 33)
    cfg, params = reference_llama.load_model(t)
    emb = params["model.embed_tokens.weight"].astype(np.float64)
    masked = emb.copy()
    masked[:, :8] = 0
    clean = dump(t, ids)
    w = dump(t, ids, ["wte@D0-7"])
    check("tied llama zero wte@D0-7: input embedding and head both lose columns 0-7",
          maxdiff(w["lnf.out"] @ masked.T, w["logits"]) < 1e-10 and maxdiff(w["logits"], clean["logits"]) > 1e-3
          and not w["resid_pre@L0"][:, :8].any())
    rc, err = run_main(reference_llama, ["--model", t, "--ids", "1,2", "--out", os.path.join(work, "x.npy"),
                                         "--zero", "head@D0-7"])
    check("tied llama head@D0-7 is an error (the head is wte)", rc == 1 and "tied to wte" in err, err.strip())
    # neox: head 1's Q rows inside the interleaved query_key_value.
    n = make(work, "abl-neox", "gpt_neox", "--seed", 34)
    clean, abl = dump(n, ids), dump(n, ids, ["attn.q@L0H1"], True)
    p, c = abl["attn.pattern@L0"], clean["attn.pattern@L0"]
    ok = maxdiff(p[1], uniform_rows(p[1])) < 1e-12 and all(np.array_equal(p[h], c[h]) for h in (0, 2, 3))
    check("gpt_neox zero attn.q@L0H1 --with-bias: head 1 uniform, heads 0,2,3 unchanged", ok)
    abl = dump(n, ids, ["attn.v@L0H2"], True)
    check("gpt_neox zero attn.v@L0H2 --with-bias: attn.z head 2 == 0, head 3 unchanged",
          not abl["attn.z@L0"][2].any() and np.array_equal(abl["attn.z@L0"][3], clean["attn.z@L0"][3]))
    abl = dump(n, ids, ["attn.k@L1H3"])
    check("gpt_neox zero attn.k@L1H3 (no bias): only head 3's keys change",
          np.array_equal(abl["attn.k@L1"][:3], clean["attn.k@L1"][:3])
          and maxdiff(abl["attn.k@L1"][3], clean["attn.k@L1"][3]) > 1e-3)
    for spec in ("mlp.fc@L0", "mlp.proj@L1", "ln1@L0", "ln2@L1", "lnf", "wte@D0-3", "head@D5"):
        moved = maxdiff(dump(n, ids, [spec], True)["logits"], clean["logits"])
        check("gpt_neox zero %s --with-bias moves the logits" % spec, moved > 1e-3, "max|delta| %.2e" % moved)
    for spec in ("mlp.gate@L0", "mlp.up@L1", "mlp.down@L0", "ln1@L1", "ln2@L0", "lnf", "attn.q@allH0-1"):
        moved = maxdiff(dump(g, ids, [spec])["logits"], dump(g, ids)["logits"])
        check("llama zero %s moves the logits" % spec, moved > 1e-3, "max|delta| %.2e" % moved)


def check_sliding_window(work):
    w = make(work, "sw", "mistral", "--sliding-window", 6, "--kv-heads", 2, "--seed", 41)
    off = edit_config(w, os.path.join(work, "sw-off"), sliding_window=None)
    short, long_ = ids_for(6, 320, 5), ids_for(16, 320, 6)
    a, b = run_ref(w, short), run_ref(off, short)
    check("mistral window 6 == no window when T = 6", np.array_equal(a, b))
    a, b = run_ref(w, long_), run_ref(off, long_)
    check("mistral window 6 != no window when T = 16", maxdiff(a[6:], b[6:]) > 1e-3 and
          maxdiff(a[:6], b[:6]) < 1e-12, "rows 6.. differ by %.2e" % maxdiff(a[6:], b[6:]))
    p = dump(w, long_)["attn.pattern@L0"]
    counts = (p > 0).sum(-1)[0]
    check("mistral window 6: query i sees min(i+1, 6) keys (itself included)",
          counts.tolist() == [min(i + 1, 6) for i in range(16)], str(counts.tolist()))
    q = make(work, "sw-qwen2", "qwen2", "--sliding-window", 3, "--layers", 4, "--seed", 42)
    r = dump(q, long_)
    counts = [int((r["attn.pattern@L%d" % l] > 0).sum(-1)[0, -1]) for l in range(4)]
    check("qwen2 use_sliding_window, max_window_layers 2: layers 0,1 full, 2,3 window 3",
          counts == [16, 16, 3, 3], str(counts))
    plain = edit_config(q, os.path.join(work, "sw-qwen2-off"), use_sliding_window=False)
    r = dump(plain, long_)
    counts = [int((r["attn.pattern@L%d" % l] > 0).sum(-1)[0, -1]) for l in range(4)]
    check("qwen2 use_sliding_window false ignores sliding_window", counts == [16] * 4, str(counts))


def check_storage(work):
    ids = ids_for(10, 320, 7)
    for family in ("llama", "gpt_neox"):
        tied = ["--tied"] if family == "llama" else []
        one = make(work, "st-one-" + family, family, "--seed", 51, *tied)
        three = make(work, "st-three-" + family, family, "--seed", 51, "--shards", 3, "--buffers", *tied)
        with open(os.path.join(three, "model.safetensors.index.json")) as f:
            index = json.load(f)
        shards = sorted(set(index["weight_map"].values()))
        size = sum(a.nbytes for s in shards for a in safetensors_np.load(os.path.join(three, s))[0].values())
        check("%s: 3 shards with buffers == one file, bit for bit" % family,
              np.array_equal(run_ref(one, ids), run_ref(three, ids)) and len(shards) == 3
              and not os.path.exists(os.path.join(three, "model.safetensors")),
              "shards %s" % shards)
        check("%s: index total_size counts the stored bytes" % family, index["metadata"]["total_size"] == size,
              "%d vs %d" % (index["metadata"]["total_size"], size))
        for dt in ("F16", "BF16"):
            low = make(work, "st-%s-%s" % (dt, family), family, "--seed", 51, "--dtype", dt, *tied)
            a = reference_common.load_tensors(one)
            b = reference_common.load_tensors(low)
            tdt = torch.float16 if dt == "F16" else torch.bfloat16
            same = all(np.array_equal(torch.from_numpy(a[k]).to(tdt).float().numpy(), b[k]) for k in a)
            moved = maxdiff(run_ref(one, ids), run_ref(low, ids))
            check("%s %s: tensors are torch's rounding of the F32 ones; logits move by %.1e" % (family, dt, moved),
                  same and 0 < moved < 0.5)
    t = os.path.join(work, "st-one-llama")  # tied
    cfg, params = reference_llama.load_model(t)
    before = dict(params)
    reference_common.round_matrices_bf16(params)
    ok = params["lm_head.weight"] is params["model.embed_tokens.weight"] and all(
        np.array_equal(params[k], torch.from_numpy(v).to(torch.bfloat16).float().numpy()) if v.ndim == 2
        else params[k] is v for k, v in before.items())
    with torch.no_grad():
        moved = maxdiff(reference_llama.forward(cfg, params, ids).numpy(), run_ref(t, ids))
    check("--round-bf16: 2-D tensors rounded as torch does, vectors kept, tied head still shared; "
          "logits move by %.1e" % moved, ok and 0 < moved < 0.5)
    for family in ("llama", "mistral", "qwen2", "gpt_neox"):
        d = make(work, "prec-" + family, family, "--seed", 52)
        a = run_ref(d, ids_for(32, 320, 8))
        b = run_ref(d, ids_for(32, 320, 8), dtype=torch.float32)
        check("%s: float32 compute agrees with float64 to 1e-4" % family, maxdiff(a, b) < 1e-4,
              "max|delta| %.2e" % maxdiff(a, b))


def check_refusals(work):
    base = make(work, "ref-base", "llama", "--seed", 61)
    neox = make(work, "ref-neox", "gpt_neox", "--seed", 62)
    out = os.path.join(work, "never.npy")
    cases = [
        (reference_llama, base, {"attention_bias": True}, "attention_bias"),
        (reference_llama, base, {"mlp_bias": True}, "mlp_bias"),
        (reference_llama, base, {"rope_scaling": {"rope_type": "yarn", "factor": 4.0}}, "'yarn'"),
        (reference_llama, base, {"rope_scaling": {"type": "dynamic", "factor": 2.0}}, "'dynamic'"),
        (reference_llama, base, {"hidden_act": "gelu"}, "hidden_act"),
        (reference_llama, base, {"model_type": "gpt2"}, "model_type"),
        (reference_llama, base, {"rope_interleaved": True}, "rope_interleaved"),
        (reference_llama, base, {"num_key_value_heads": 3}, "num_key_value_heads"),
        (reference_llama, base, {"tie_word_embeddings": True, "vocab_size": 321}, "embed_tokens"),
        (reference_neox, neox, {"hidden_act": "gelu_new"}, "hidden_act"),
        (reference_neox, neox, {"rope_scaling": {"type": "linear", "factor": 2.0}}, "rope_scaling"),
        (reference_neox, neox, {"rotary_pct": 0.375}, "odd"),
        (reference_neox, neox, {"model_type": "llama"}, "model_type"),
    ]
    for n, (module, src, changes, needle) in enumerate(cases):
        d = edit_config(src, os.path.join(work, "refuse%d" % n), **changes)
        rc, err = run_main(module, ["--model", d, "--ids", "1,2,3", "--out", out])
        check("refused: %s" % json.dumps(changes), rc == 1 and needle in err and err.count("\n") == 1
              and not os.path.exists(out), err.strip())
    specs = [(reference_llama, base, "mlp.fc@L0", "has no component 'mlp.fc'"),
             (reference_llama, base, "wpe", "has no component 'wpe'"),
             (reference_neox, neox, "mlp.gate@L0", "has no component 'mlp.gate'"),
             (reference_neox, neox, "attn.q@L0H4", "head 4 out of range 0..3"),
             (reference_llama, base, "attn.q@L2", "layer 2 out of range 0..1"),
             (reference_llama, base, "mlp.up@L0H1", "heads apply to attn.* only"),
             (reference_llama, base, "lnf@L0", "lnf takes no selector")]
    for module, d, spec, needle in specs:
        rc, err = run_main(module, ["--model", d, "--ids", "1,2,3", "--out", out, "--zero", spec])
        check("refused spec %s" % spec, rc == 1 and needle in err and err.count("\n") == 1, err.strip())
    # A tensor the family does not have, and a missing untied head.
    extra = os.path.join(work, "ref-extra")
    shutil.copytree(base, extra)
    t = reference_common.load_tensors(base)
    t["model.layers.0.self_attn.q_norm.weight"] = np.ones(8, np.float32)
    safetensors_np.save(os.path.join(extra, "model.safetensors"), t)
    rc, err = run_main(reference_llama, ["--model", extra, "--ids", "1", "--out", out])
    check("refused: an unexpected tensor", rc == 1 and "q_norm" in err, err.strip())
    del t["model.layers.0.self_attn.q_norm.weight"], t["lm_head.weight"]
    safetensors_np.save(os.path.join(extra, "model.safetensors"), t)
    rc, err = run_main(reference_llama, ["--model", extra, "--ids", "1", "--out", out])
    check("refused: untied model without lm_head.weight", rc == 1 and "lm_head.weight" in err, err.strip())
    rc, err = run_main(reference_llama, ["--model", base, "--ids", "1,2"])
    check("usage error (exit 2) without --out or --dump", rc == 2)
    rc, err = run_main(reference_llama, ["--model", base, "--ids", ",".join(["1"] * 65), "--out", out])
    check("refused: more tokens than max_position_embeddings", rc == 1 and "context holds 1..64" in err, err.strip())


def check_cli(work):
    """The command lines themselves, as lesion's tests will call them."""
    ids = ",".join(map(str, ids_for(9, 97, 9)))
    g = os.path.join(work, "gpt2")
    res = subprocess.run([PY, os.path.join(TOOLS, "reference_gpt2.py"), "--model", g, "--ids", ids,
                          "--out", os.path.join(work, "g.npy"), "--dump", os.path.join(work, "g.npz"),
                          "--zero", "attn.o@L1H2"], capture_output=True, text=True)
    ok = res.returncode == 0
    if ok:
        d = np.load(os.path.join(work, "g.npz"))
        ok = np.array_equal(d["logits"], np.load(os.path.join(work, "g.npy"))) and d["logits"].dtype == np.float32
    check("reference_gpt2.py --out and --dump: the dump's logits equal --out bit for bit", ok, res.stderr.strip())
    lm = os.path.join(work, "dump-llama")
    lids = ",".join(map(str, ids_for(9, 320, 10)))
    res = subprocess.run([PY, os.path.join(TOOLS, "reference_llama.py"), "--model", lm, "--ids", lids,
                          "--out", os.path.join(work, "l.npy"), "--dump", os.path.join(work, "ldir"),
                          "--dtype", "float32", "--zero", "attn.k@L1H1", "--zero", "mlp.up@L0"],
                         capture_output=True, text=True)
    ok = res.returncode == 0
    if ok:
        files = sorted(os.listdir(os.path.join(work, "ldir")))
        logits = np.load(os.path.join(work, "ldir", "logits.npy"))
        ok = (np.array_equal(logits, np.load(os.path.join(work, "l.npy"))) and "attn.pattern@L1.npy" in files
              and "mlp.up@L0.npy" in files and np.load(os.path.join(work, "ldir", "attn.k@L1.npy")).shape == (2, 9, 16))
        want = run_ref(lm, [int(i) for i in lids.split(",")], ["attn.k@L1H1", "mlp.up@L0"])
        ok = ok and maxdiff(logits, want) < 1e-4
    check("reference_llama.py --dump DIR: one SITE.npy per site, logits equal --out", ok, res.stderr.strip())


def encode(tok, text):
    """Encodes text with a tokenizer.json written by make_family_checkpoint
    (its own pre-tokenizer regex, merges by rank, ignore_merges)."""
    m = tok["model"]
    vocab = m["vocab"]
    merges = [tuple(x.split(" ")) if isinstance(x, str) else tuple(x) for x in m["merges"]]
    pre = tok["pre_tokenizer"]
    pat = regex.compile(pre["pretokenizers"][0]["pattern"]["Regex"] if pre["type"] == "Sequence"
                        else bpe_train.PAT.pattern)
    bpe = bpe_train.Tokenizer(vocab, merges)
    ids = []
    for word in pat.findall(text):
        sym = "".join(bpe_train.BYTE_ENCODER[b] for b in word.encode("utf-8"))
        ids.extend([vocab[sym]] if m["ignore_merges"] and sym in vocab else [vocab[t] for t in bpe.bpe(sym)])
    return ids


def check_tokenizer(work):
    text = "The lesion tool's heads, 12345 numbers\n\n  and then émoji \U0001F642 (this) [that]"
    node_pkg = os.path.join(TOOLS, "..", "build", "npm", "node_modules", "@huggingface", "tokenizers")
    for family in ("llama", "qwen2", "gpt_neox"):
        d = make(work, "tok-" + family, family, "--vocab", 300)
        with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
            tok = json.load(f)
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
        vocab = tok["model"]["vocab"]
        merges = [tuple(x.split(" ")) if isinstance(x, str) else tuple(x) for x in tok["model"]["merges"]]
        eot = tok["added_tokens"][0]
        ok = (sorted(vocab.values()) == list(range(len(vocab))) and len(vocab) <= cfg["vocab_size"]
              and all(a in vocab and b in vocab and vocab[a + b] == 256 + r for r, (a, b) in enumerate(merges))
              and vocab[eot["content"]] == eot["id"] == cfg["eos_token_id"] and eot["special"])
        check("%s tokenizer.json: ids 0..%d, merges in rank order, <|endoftext|> special" % (family, len(vocab) - 1),
              ok and len(merges) == 300 - 257)
        ids = encode(tok, text)
        inv = {i: t for t, i in vocab.items()}
        back = bytes(bpe_train.BYTE_DECODER[ch] for i in ids for ch in inv[i]).decode("utf-8")
        check("%s tokenizer.json: encode/decode round trip, %d ids for %d bytes" % (family, len(ids),
                                                                                 len(text.encode())),
              back == text and len(ids) < len(text.encode()))
        if shutil.which("node") and os.path.isdir(node_pkg):
            js = ("const {Tokenizer}=require(process.argv[1]);const fs=require('fs');"
                  "const t=new Tokenizer(JSON.parse(fs.readFileSync(process.argv[2],'utf8')),{});"
                  "console.log(JSON.stringify(t.encode(process.argv[3],{add_special_tokens:false}).ids));")
            res = subprocess.run(["node", "-e", js, os.path.abspath(node_pkg), os.path.join(d, "tokenizer.json"),
                                  text], capture_output=True, text=True)
            got = json.loads(res.stdout) if res.returncode == 0 else None
            check("%s tokenizer.json: @huggingface/tokenizers encodes the same ids" % family, got == ids,
                  res.stderr.strip()[-200:])
    if not (shutil.which("node") and os.path.isdir(node_pkg)):
        print("note: build/npm/node_modules/@huggingface/tokenizers absent; tokenizer.json not run through it")


def main(argv):
    torch.set_num_threads(1)
    work = argv[0] if argv else tempfile.mkdtemp(prefix="reference_selftest.")
    os.makedirs(work, exist_ok=True)
    try:
        for fn in (check_second_implementation, check_gqa_equals_duplicated_mha, check_rope,
                   check_neox_residual_modes, check_dumps, check_ablations, check_sliding_window,
                   check_storage, check_refusals, check_cli, check_tokenizer):
            try:
                fn(work)
            except Exception as e:  # a crash inside a check is its failure, and the others still run
                check(fn.__name__, False, "raised %s: %s" % (type(e).__name__, e))
    finally:
        if not argv:
            shutil.rmtree(work, ignore_errors=True)
    failed = RESULTS.count(False)
    print("%d passed, %d failed" % (len(RESULTS) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
