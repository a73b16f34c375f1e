#!/usr/bin/python3
"""make_checkpoint: writes a random-weight GPT-2 in Hugging Face layout, for tests.

The checkpoints exercise what a loader meets in the wild: keys with or
without the "transformer." prefix, the causal-mask buffers h.{i}.attn.bias
(float or bool, shape (1,1,ctx,ctx)) and h.{i}.attn.masked_bias (a float
scalar), a stored lm_head.weight (a copy of wte: GPT-2's head is tied), and
F32/F16/BF16 storage.

Weights are N(0, std). Unlike GPT-2's own init, every bias is N(0, 0.1) and
every LayerNorm weight is 1 + N(0, 0.1): with unit LayerNorms and zero biases
a comparison could not notice a forward pass that forgot one of them. The
default std 0.02 is GPT-2's; cross-checks use a larger one (0.2) so that
attention is far from uniform and the logits are of order 1.

All draws come from numpy's default_rng(seed), in file order, so a
(shape, seed, std) triple always gives the same weights whatever the dtype.

Usage:
  make_checkpoint.py --layers 3 --heads 4 --embd 32 --vocab 97 --ctx 64 --seed 1 --out DIR
      [--prefix] [--attn-bias none|float|bool] [--masked-bias] [--lm-head]
      [--dtype F32|F16|BF16] [--std 0.02] [--tokenizer-from DIR]
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402


def make_tensors(L, H, C, V, N, seed, std, prefix, attn_bias, masked_bias, lm_head):
    rng = np.random.default_rng(seed)
    pre = "transformer." if prefix else ""

    def w(*shape):
        return rng.normal(0.0, std, shape).astype(np.float32)

    def b(n):
        return rng.normal(0.0, 0.1, (n,)).astype(np.float32)

    def g(n):
        return (1.0 + rng.normal(0.0, 0.1, (n,))).astype(np.float32)

    t = {pre + "wte.weight": w(V, C), pre + "wpe.weight": w(N, C)}
    mask = np.tril(np.ones((N, N), dtype=np.bool_)).reshape(1, 1, N, N)
    for l in range(L):
        p = "%sh.%d." % (pre, l)
        t[p + "ln_1.weight"] = g(C)
        t[p + "ln_1.bias"] = b(C)
        if attn_bias == "float":
            t[p + "attn.bias"] = mask.astype(np.float32)
        elif attn_bias == "bool":
            t[p + "attn.bias"] = mask
        if masked_bias:
            t[p + "attn.masked_bias"] = np.array(-1e4, dtype=np.float32)
        t[p + "attn.c_attn.weight"] = w(C, 3 * C)
        t[p + "attn.c_attn.bias"] = b(3 * C)
        t[p + "attn.c_proj.weight"] = w(C, C)
        t[p + "attn.c_proj.bias"] = b(C)
        t[p + "ln_2.weight"] = g(C)
        t[p + "ln_2.bias"] = b(C)
        t[p + "mlp.c_fc.weight"] = w(C, 4 * C)
        t[p + "mlp.c_fc.bias"] = b(4 * C)
        t[p + "mlp.c_proj.weight"] = w(4 * C, C)
        t[p + "mlp.c_proj.bias"] = b(C)
    t[pre + "ln_f.weight"] = g(C)
    t[pre + "ln_f.bias"] = b(C)
    if lm_head:
        t["lm_head.weight"] = t[pre + "wte.weight"].copy()
    return t


def main(argv):
    ap = argparse.ArgumentParser(description="Writes a random-weight GPT-2 checkpoint in Hugging Face layout.")
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--embd", type=int, required=True)
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--ctx", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--prefix", action="store_true", help='keys start with "transformer."')
    ap.add_argument("--attn-bias", choices=["none", "float", "bool"], default="none",
                    help="store the h.{i}.attn.bias causal-mask buffer")
    ap.add_argument("--masked-bias", action="store_true", help="store h.{i}.attn.masked_bias")
    ap.add_argument("--lm-head", action="store_true", help="store lm_head.weight (a copy of wte)")
    ap.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32")
    ap.add_argument("--std", type=float, default=0.02)
    ap.add_argument("--tokenizer-from", metavar="DIR", help="copy vocab.json and merges.txt from DIR")
    a = ap.parse_args(argv)
    if a.embd % a.heads:
        ap.error("--embd must be a multiple of --heads")
    os.makedirs(a.out, exist_ok=True)
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
              "n_layer": a.layers, "n_head": a.heads, "n_embd": a.embd,
              "n_positions": a.ctx, "n_ctx": a.ctx, "vocab_size": a.vocab,
              "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
              "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    tensors = make_tensors(a.layers, a.heads, a.embd, a.vocab, a.ctx, a.seed, a.std,
                           a.prefix, a.attn_bias, a.masked_bias, a.lm_head)
    safetensors_np.save(os.path.join(a.out, "model.safetensors"), tensors,
                        metadata={"format": "pt"}, dtype=a.dtype)
    if a.tokenizer_from:
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(os.path.join(a.tokenizer_from, name), os.path.join(a.out, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
