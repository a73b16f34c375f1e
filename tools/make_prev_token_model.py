#!/usr/bin/python3
"""make_prev_token_model: a GPT-2 built by hand to have a previous-token head.

The probe test (tests/e2e/probe.sh) needs a model in which attention is known
to move the previous token into each position, so that "zero-ablating
attention lowers prev-token probe accuracy" is a known answer rather than a
hope about how some trained model behaves. This writes one, with no
training, in Hugging Face layout (2 layers, 2 heads, n_embd 96):

  dims  0..31  token code: wte rows are random directions of norm 4
  dims 32..63  position code: 16 (cos, sin) pairs of p * w_k, w_k spread
               over [0.35, 3.0] radians (norm 4 at every position)
  dims 64..95  empty in the embedding; block 0 writes the previous token here

Block 0, head 0 is the previous-token head. Its query is the position code
rotated back by one step, its key the position code itself, so q.k =
s * sum_k cos(w_k (p - 1 - j)), largest for the key j = p - 1 (s = 4 makes
the softmax sharp). Its value is the token code, and the output projection
writes it into dims 64..95. Head 1, the MLPs and all of block 1 are zero
(block 1 is the identity), LayerNorms are unit with zero bias. So after
block 0 the residual stream holds the current token, the position and the
previous token in separate subspaces: a linear probe reads the previous
token almost perfectly there, and zeroing attn.v (or attn.q, which makes
attention uniform) takes it away. The tokenizer (vocab.json, merges.txt)
is copied from --tokenizer-from, whose vocabulary size the model takes.

Usage: make_prev_token_model.py --tokenizer-from models/kjv-gpt2 --out DIR [--ctx 64] [--seed 0]
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402

C, H, L = 96, 2, 2
TOK, POS, PREV = 0, 32, 64  # first dim of each 32-dim subspace
PAIRS = 16
SHARPNESS = 4.0


def build(V, N, seed):
    rng = np.random.default_rng(seed)
    wte = np.zeros((V, C), np.float32)
    code = rng.normal(size=(V, 32))
    wte[:, TOK:TOK + 32] = 4.0 * code / np.linalg.norm(code, axis=1, keepdims=True)
    omega = np.linspace(0.35, 3.0, PAIRS)
    p = np.arange(N)[:, None]
    wpe = np.zeros((N, C), np.float32)
    wpe[:, POS:POS + 32:2] = np.cos(p * omega)
    wpe[:, POS + 1:POS + 32:2] = np.sin(p * omega)
    wpe[:, POS:POS + 32] *= 4.0 / np.sqrt(PAIRS)

    # Head 0 (columns 0..47 of each of the Q, K, V blocks of c_attn; D = 48).
    attn = np.zeros((C, 3 * C), np.float32)
    for k, w in enumerate(omega):
        c, s = np.cos(w), np.sin(w)
        i = POS + 2 * k
        # q = R(-w) (cos pw, sin pw) = (cos (p-1)w, sin (p-1)w), scaled.
        attn[i, 2 * k], attn[i + 1, 2 * k] = SHARPNESS * c, SHARPNESS * s
        attn[i, 2 * k + 1], attn[i + 1, 2 * k + 1] = -SHARPNESS * s, SHARPNESS * c
        attn[i, C + 2 * k], attn[i + 1, C + 2 * k + 1] = 1.0, 1.0  # k = position code
    for d in range(32):
        attn[TOK + d, 2 * C + d] = 1.0  # v = token code
    proj = np.zeros((C, C), np.float32)
    for d in range(32):
        proj[d, PREV + d] = 1.0  # head 0's value dims 0..31 -> dims 64..95

    t = {"wte.weight": wte, "wpe.weight": wpe}
    for layer in range(L):
        h = "h.%d." % layer
        first = layer == 0
        t[h + "ln_1.weight"] = np.ones(C, np.float32)
        t[h + "ln_1.bias"] = np.zeros(C, np.float32)
        t[h + "attn.c_attn.weight"] = attn if first else np.zeros((C, 3 * C), np.float32)
        t[h + "attn.c_attn.bias"] = np.zeros(3 * C, np.float32)
        t[h + "attn.c_proj.weight"] = proj if first else np.zeros((C, C), np.float32)
        t[h + "attn.c_proj.bias"] = np.zeros(C, np.float32)
        t[h + "ln_2.weight"] = np.ones(C, np.float32)
        t[h + "ln_2.bias"] = np.zeros(C, np.float32)
        t[h + "mlp.c_fc.weight"] = np.zeros((C, 4 * C), np.float32)
        t[h + "mlp.c_fc.bias"] = np.zeros(4 * C, np.float32)
        t[h + "mlp.c_proj.weight"] = np.zeros((4 * C, C), np.float32)
        t[h + "mlp.c_proj.bias"] = np.zeros(C, np.float32)
    t["ln_f.weight"] = np.ones(C, np.float32)
    t["ln_f.bias"] = np.zeros(C, np.float32)
    return t


def main(argv):
    ap = argparse.ArgumentParser(description="Writes a GPT-2 with a hand-made previous-token head.")
    ap.add_argument("--tokenizer-from", required=True, metavar="DIR")
    ap.add_argument("--out", required=True)
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    with open(os.path.join(a.tokenizer_from, "vocab.json"), encoding="utf-8") as f:
        V = len(json.load(f))
    os.makedirs(a.out, exist_ok=True)
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
              "n_layer": L, "n_head": H, "n_embd": C, "n_positions": a.ctx, "n_ctx": a.ctx,
              "vocab_size": V, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
              "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    safetensors_np.save(os.path.join(a.out, "model.safetensors"), build(V, a.ctx, a.seed),
                        metadata={"format": "pt"})
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(a.tokenizer_from, name), os.path.join(a.out, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
