#!/usr/bin/python3
"""make_family_checkpoint: writes a random-weight checkpoint of a Llama-family
(llama, mistral, qwen2) or GPT-NeoX model in Hugging Face's exact file
layout, for tests (tools/make_checkpoint.py does the same for GPT-2).

What a loader meets in a real download, reproduced:
  - config.json with the keys Hugging Face's config classes write for that
    model_type (sorted, two-space indent, as save_pretrained writes them):
    the set a Llama-3.2 / SmolLM2 (llama), Mistral-7B (mistral), Qwen2
    (qwen2) or Pythia (gpt_neox) download carries, including the ones that
    do not change the math (initializer_range, use_cache, torch_dtype,
    transformers_version: the release whose layout is copied, not the
    writer of this file);
  - model.safetensors, or with --shards N the files
    model-0000i-of-0000N.safetensors plus model.safetensors.index.json
    ({"metadata": {"total_size": bytes}, "weight_map": {name: file}});
    F32, F16 or BF16 storage (metadata {"format": "pt"});
  - no lm_head.weight when tied (--tied), as tied Llama/Qwen2 files have none;
  - weight files an earlier run left in DIR (model.safetensors, an index,
    model-*.safetensors) are removed first, so a loader never picks up a
    stale layout;
  - with --buffers, the buffers some checkpoints still carry: per layer
    self_attn.rotary_emb.inv_freq (old llama), attention.bias (bool causal
    mask), attention.masked_bias and attention.rotary_emb.inv_freq (Pythia);
  - tokenizer.json: a byte-level BPE in the Hugging Face tokenizers format:
    the 256 byte symbols (GPT-2's bytes_to_unicode order, ids 0..255), up to
    64 merges learned (tools/bpe_train.py) from a fixed English paragraph,
    then <|endoftext|> (also an added, special token), so it is the same for
    every seed. gpt_neox gets GPT-2's form (ByteLevel pre-tokenizer with its
    regex, merges as "a b" strings), llama and mistral Llama 3's (Split on
    Llama 3's regex then ByteLevel without regex, ignore_merges true, merges
    as "a b" strings), qwen2 Qwen2's (Split on Qwen2's regex, merges as
    ["a", "b"] pairs). Real Mistral and Llama 2 tokenizers are
    SentencePiece-style BPE; this file is byte-level for every family. The
    model's vocab_size (--vocab, >= 257) may exceed the tokenizer's
    257 + merges ids, as real models pad theirs. bos/eos are <|endoftext|>.

Weights: numpy's default_rng(seed), drawn in file order, so a (shape, seed)
pair gives the same weights whatever the dtype, sharding, tying (lm_head is
drawn last) or --buffers. Every matrix W (out, in) is N(0, g / sqrt(in)) with
g = 1.5 for queries and keys (attention far from uniform: score std about 2)
and 1 otherwise; embeddings and the head are N(0, 2 / sqrt(C)) (logits of
order 1); norm weights 1 + N(0, 0.1); biases N(0, 0.1), qwen2's q/k/v biases
N(0, 0.3). Nothing is zero or one exactly, so a forward pass that forgets a
norm weight or a bias shows it.

Shape options and their meaning per family:
  --hidden C --heads H --layers L --intermediate F (default 2C llama family,
  4C gpt_neox) --vocab V --ctx N (max_position_embeddings)
  --kv-heads KV (llama family; default H)     --head-dim D (llama family;
      written as head_dim only when given, default C/H)
  --rope-theta (rope_theta; rotary_emb_base on gpt_neox; default 10000)
  --rope-scaling llama3|linear [--rope-factor F] (llama family): llama3 is
      {"factor": F (8), "low_freq_factor": 1.0, "high_freq_factor": 4.0,
       "original_max_position_embeddings": N/2, "rope_type": "llama3"}, so a
      test context of N covers kept, blended and divided frequencies once
      D >= 16; linear is {"factor": F (4), "rope_type": "linear"}
  --sliding-window W: mistral writes sliding_window W (default null); qwen2
      writes use_sliding_window true, sliding_window W, max_window_layers
      L/2 (so layers L/2.. slide; without it use_sliding_window false,
      sliding_window N, max_window_layers L, as Qwen2 downloads have)
  --parallel-residual true|false --rotary-pct P (gpt_neox; defaults true, 0.25)

Usage:
  make_family_checkpoint.py --family llama|mistral|qwen2|gpt_neox --out DIR
      [--layers 2] [--hidden 32] [--heads 4] [--kv-heads KV] [--head-dim D]
      [--intermediate F] [--vocab 320] [--ctx 64] [--tied]
      [--rope-scaling llama3|linear] [--rope-factor F] [--rope-theta 10000]
      [--sliding-window W] [--parallel-residual true|false] [--rotary-pct 0.25]
      [--dtype F32|F16|BF16] [--shards N] [--buffers] [--seed 0]
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_train  # noqa: E402
import safetensors_np  # noqa: E402

FAMILIES = ("llama", "mistral", "qwen2", "gpt_neox")
TORCH_DTYPE = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
CORPUS = (
    "The lesion tool damages a model on purpose and measures what breaks. "
    "It reads the weights, zeroes the rows of one head, and runs the text again; "
    "then it compares the logits with the clean ones, token by token. "
    "A small model learns the words that come back often: the, and, of, it, then, "
    "and the spaces before them. Numbers such as 12, 345 and 6789 are split, "
    "and so are marks like (this), [that] and {those}. "
    "The test checks every step twice, in two ways, so that a mistake in one "
    "shows up as a difference in the other. "
) * 3
MAX_MERGES = 64
EOT = bpe_train.EOT


# ---- config.json ------------------------------------------------------------------

def make_config(a, eot_id):
    dtype = TORCH_DTYPE[a.dtype]
    if a.family == "gpt_neox":
        return {"architectures": ["GPTNeoXForCausalLM"], "bos_token_id": eot_id, "eos_token_id": eot_id,
                "hidden_act": "gelu", "hidden_size": a.hidden, "initializer_range": 0.02,
                "intermediate_size": a.intermediate, "layer_norm_eps": 1e-5,
                "max_position_embeddings": a.ctx, "model_type": "gpt_neox",
                "num_attention_heads": a.heads, "num_hidden_layers": a.layers,
                "rotary_emb_base": a.rope_theta, "rotary_pct": a.rotary_pct,
                "tie_word_embeddings": a.tied, "torch_dtype": dtype, "transformers_version": "4.24.0",
                "use_cache": True, "use_parallel_residual": a.parallel_residual == "true",
                "vocab_size": a.vocab}
    cfg = {"attention_dropout": 0.0, "bos_token_id": eot_id, "eos_token_id": eot_id, "hidden_act": "silu",
           "hidden_size": a.hidden, "initializer_range": 0.02, "intermediate_size": a.intermediate,
           "max_position_embeddings": a.ctx, "model_type": a.family, "num_attention_heads": a.heads,
           "num_hidden_layers": a.layers, "num_key_value_heads": a.kv_heads, "rope_theta": a.rope_theta,
           "tie_word_embeddings": a.tied, "torch_dtype": dtype, "use_cache": True, "vocab_size": a.vocab}
    if a.head_dim is not None:
        cfg["head_dim"] = a.head_dim
    scaling = None
    if a.rope_scaling == "llama3":
        scaling = {"factor": a.rope_factor or 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": a.ctx // 2, "rope_type": "llama3"}
    elif a.rope_scaling == "linear":
        scaling = {"factor": a.rope_factor or 4.0, "rope_type": "linear"}
    if a.family == "llama":
        cfg.update({"architectures": ["LlamaForCausalLM"], "attention_bias": False, "mlp_bias": False,
                    "pretraining_tp": 1, "rms_norm_eps": 1e-5, "rope_scaling": scaling,
                    "transformers_version": "4.45.0"})
    elif a.family == "mistral":
        cfg.update({"architectures": ["MistralForCausalLM"], "rms_norm_eps": 1e-5,
                    "sliding_window": a.sliding_window, "transformers_version": "4.45.0"})
        if scaling is not None:
            cfg["rope_scaling"] = scaling
    else:  # qwen2
        sliding = a.sliding_window is not None
        cfg.update({"architectures": ["Qwen2ForCausalLM"], "max_window_layers": a.layers // 2 if sliding else a.layers,
                    "rms_norm_eps": 1e-6, "rope_scaling": scaling,
                    "sliding_window": a.sliding_window if sliding else a.ctx,
                    "transformers_version": "4.45.0", "use_sliding_window": sliding})
    return cfg


# ---- weights ----------------------------------------------------------------------------

def make_tensors(a):
    """-> dict name -> float32 array (or bool buffer), in file order."""
    rng = np.random.default_rng(a.seed)
    C, F, V = a.hidden, a.intermediate, a.vocab

    def mat(rows, cols, gain=1.0):
        return rng.normal(0.0, gain / math.sqrt(cols), (rows, cols)).astype(np.float32)

    def norm(n):
        return (1.0 + rng.normal(0.0, 0.1, (n,))).astype(np.float32)

    def bias(n, std=0.1):
        return rng.normal(0.0, std, (n,)).astype(np.float32)

    def emb():
        return rng.normal(0.0, 2.0 / math.sqrt(C), (V, C)).astype(np.float32)

    t = {}
    if a.family == "gpt_neox":
        H, D = a.heads, C // a.heads
        R = int(D * a.rotary_pct)
        t["gpt_neox.embed_in.weight"] = emb()
        for l in range(a.layers):
            p = "gpt_neox.layers.%d." % l
            t[p + "input_layernorm.weight"] = norm(C)
            t[p + "input_layernorm.bias"] = bias(C)
            t[p + "post_attention_layernorm.weight"] = norm(C)
            t[p + "post_attention_layernorm.bias"] = bias(C)
            if a.buffers:
                t[p + "attention.bias"] = np.tril(np.ones((a.ctx, a.ctx), dtype=np.bool_)).reshape(1, 1, a.ctx, a.ctx)
                t[p + "attention.masked_bias"] = np.array(-1e9, dtype=np.float32)
                t[p + "attention.rotary_emb.inv_freq"] = \
                    (1.0 / a.rope_theta ** (np.arange(0, R, 2) / R)).astype(np.float32)
            # Rows interleaved per head (Q, K, V of head 0, then head 1, ...):
            # queries and keys get the larger gain, values the unit one.
            w = mat(3 * C, C).reshape(H, 3, D, C)
            w[:, :2] *= 1.5
            t[p + "attention.query_key_value.weight"] = w.reshape(3 * C, C)
            t[p + "attention.query_key_value.bias"] = bias(3 * C)
            t[p + "attention.dense.weight"] = mat(C, C)
            t[p + "attention.dense.bias"] = bias(C)
            t[p + "mlp.dense_h_to_4h.weight"] = mat(F, C)
            t[p + "mlp.dense_h_to_4h.bias"] = bias(F)
            t[p + "mlp.dense_4h_to_h.weight"] = mat(C, F)
            t[p + "mlp.dense_4h_to_h.bias"] = bias(C)
        t["gpt_neox.final_layer_norm.weight"] = norm(C)
        t["gpt_neox.final_layer_norm.bias"] = bias(C)
        if not a.tied:
            t["embed_out.weight"] = emb()
        return t
    H, KV = a.heads, a.kv_heads
    D = a.head_dim if a.head_dim is not None else C // H
    t["model.embed_tokens.weight"] = emb()
    for l in range(a.layers):
        p = "model.layers.%d." % l
        t[p + "input_layernorm.weight"] = norm(C)
        t[p + "self_attn.q_proj.weight"] = mat(H * D, C, 1.5)
        if a.family == "qwen2":
            t[p + "self_attn.q_proj.bias"] = bias(H * D, 0.3)
        t[p + "self_attn.k_proj.weight"] = mat(KV * D, C, 1.5)
        if a.family == "qwen2":
            t[p + "self_attn.k_proj.bias"] = bias(KV * D, 0.3)
        t[p + "self_attn.v_proj.weight"] = mat(KV * D, C)
        if a.family == "qwen2":
            t[p + "self_attn.v_proj.bias"] = bias(KV * D, 0.3)
        t[p + "self_attn.o_proj.weight"] = mat(C, H * D)
        if a.buffers:
            t[p + "self_attn.rotary_emb.inv_freq"] = (1.0 / a.rope_theta ** (np.arange(0, D, 2) / D)).astype(np.float32)
        t[p + "post_attention_layernorm.weight"] = norm(C)
        t[p + "mlp.gate_proj.weight"] = mat(F, C)
        t[p + "mlp.up_proj.weight"] = mat(F, C)
        t[p + "mlp.down_proj.weight"] = mat(C, F)
    t["model.norm.weight"] = norm(C)
    if not a.tied:
        t["lm_head.weight"] = emb()
    return t


def stored_bytes(arr, dtype):
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.floating):
        return arr.nbytes
    return arr.size * (4 if dtype == "F32" else 2)


def write_weights(out_dir, tensors, dtype, n_shards):
    meta = {"format": "pt"}
    if n_shards == 1:
        safetensors_np.save(os.path.join(out_dir, "model.safetensors"), tensors, metadata=meta, dtype=dtype)
        return
    names = list(tensors)
    if n_shards > len(names):
        raise ValueError("--shards %d exceeds the %d tensors" % (n_shards, len(names)))
    sizes = [stored_bytes(tensors[n], dtype) for n in names]
    total = sum(sizes)
    # Cut the file-ordered list where the running size passes i/N of the
    # total, keeping at least one tensor per shard.
    groups, start, running = [], 0, 0
    for i, size in enumerate(sizes):
        running += size
        left_tensors, left_shards = len(names) - i - 1, n_shards - len(groups) - 1
        if len(groups) < n_shards - 1 and (running >= total * (len(groups) + 1) / n_shards
                                           or left_tensors == left_shards):
            groups.append(names[start:i + 1])
            start = i + 1
    groups.append(names[start:])
    weight_map = {}
    for k, group in enumerate(groups):
        fname = "model-%05d-of-%05d.safetensors" % (k + 1, n_shards)
        safetensors_np.save(os.path.join(out_dir, fname), {n: tensors[n] for n in group}, metadata=meta, dtype=dtype)
        weight_map.update({n: fname for n in group})
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


# ---- tokenizer.json -------------------------------------------------------------------------

def make_tokenizer(family, vocab_size):
    """-> (tokenizer.json object, id of <|endoftext|>)."""
    n_merges = min(vocab_size - 257, MAX_MERGES)
    merges = bpe_train.train(CORPUS, 257 + n_merges) if n_merges > 0 else []
    vocab = bpe_train.build_vocab(merges)  # bytes, merges, <|endoftext|> last
    eot_id = vocab[EOT]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    if family == "gpt_neox":
        pre = byte_level
        merge_list = ["%s %s" % m for m in merges]
        ignore_merges = False
    else:
        regex = QWEN2_REGEX if family == "qwen2" else LLAMA3_REGEX
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
        merge_list = [list(m) for m in merges] if family == "qwen2" else ["%s %s" % m for m in merges]
        ignore_merges = family != "qwen2"
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": eot_id, "content": EOT, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": pre,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": ignore_merges, "vocab": vocab, "merges": merge_list},
    }
    return tok, eot_id


# ---- command line ---------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description="Writes a random-weight llama/mistral/qwen2/gpt_neox checkpoint "
                                 "in Hugging Face layout (config.json, safetensors, tokenizer.json).")
    ap.add_argument("--family", required=True, choices=FAMILIES)
    ap.add_argument("--out", required=True)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int)
    ap.add_argument("--head-dim", type=int)
    ap.add_argument("--intermediate", type=int)
    ap.add_argument("--vocab", type=int, default=320)
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--tied", action="store_true", help="tie_word_embeddings true; no lm_head/embed_out stored")
    ap.add_argument("--rope-scaling", choices=["llama3", "linear"])
    ap.add_argument("--rope-factor", type=float)
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--sliding-window", type=int)
    ap.add_argument("--parallel-residual", choices=["true", "false"])
    ap.add_argument("--rotary-pct", type=float)
    ap.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--buffers", action="store_true", help="also store the rotary/mask buffers old checkpoints carry")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    neox = a.family == "gpt_neox"
    for name, value in (("layers", a.layers), ("hidden", a.hidden), ("heads", a.heads), ("ctx", a.ctx),
                        ("shards", a.shards)):
        if value < 1:
            ap.error("--%s must be at least 1" % name)
    if a.vocab < 257:
        ap.error("--vocab must be at least 257 (256 byte tokens + <|endoftext|>)")
    if neox:
        for name in ("kv_heads", "head_dim", "rope_scaling", "rope_factor", "sliding_window"):
            if getattr(a, name) is not None:
                ap.error("--%s does not apply to gpt_neox" % name.replace("_", "-"))
        if a.hidden % a.heads:
            ap.error("--hidden must be a multiple of --heads")
        a.parallel_residual = a.parallel_residual or "true"
        a.rotary_pct = 0.25 if a.rotary_pct is None else a.rotary_pct
        if int(a.hidden // a.heads * a.rotary_pct) % 2:
            ap.error("--rotary-pct gives an odd number of rotary dims")
        a.intermediate = a.intermediate or 4 * a.hidden
        return a
    if a.parallel_residual is not None or a.rotary_pct is not None:
        ap.error("--parallel-residual and --rotary-pct apply to gpt_neox only")
    if a.sliding_window is not None and a.family == "llama":
        ap.error("llama has no sliding window (use --family mistral or qwen2)")
    if a.rope_factor is not None and a.rope_scaling is None:
        ap.error("--rope-factor needs --rope-scaling")
    if a.rope_factor is not None and a.rope_factor <= 0:
        ap.error("--rope-factor must be positive")
    if a.rope_scaling == "llama3" and a.ctx < 2:
        ap.error("--rope-scaling llama3 needs --ctx >= 2 (original_max_position_embeddings is ctx/2)")
    a.kv_heads = a.kv_heads or a.heads
    if a.heads % a.kv_heads:
        ap.error("--heads must be a multiple of --kv-heads")
    if a.head_dim is None and a.hidden % a.heads:
        ap.error("--hidden must be a multiple of --heads unless --head-dim is given")
    if (a.head_dim or a.hidden // a.heads) % 2:
        ap.error("the head dim must be even (rotary pairs)")
    a.intermediate = a.intermediate or 2 * a.hidden
    return a


def remove_old_weights(out_dir):
    """A loader prefers model.safetensors over an index, so weights left by an
    earlier run in another layout would silently win: remove them."""
    for name in os.listdir(out_dir):
        if name in ("model.safetensors", "model.safetensors.index.json") or \
                (name.startswith("model-") and name.endswith(".safetensors")):
            os.unlink(os.path.join(out_dir, name))


def main(argv):
    a = parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    remove_old_weights(a.out)
    tok, eot_id = make_tokenizer(a.family, a.vocab)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(make_config(a, eot_id), f, indent=2, sort_keys=True)
        f.write("\n")
    write_weights(a.out, make_tensors(a), a.dtype, a.shards)
    with open(os.path.join(a.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
