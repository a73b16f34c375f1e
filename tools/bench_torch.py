#!/usr/bin/python3
"""bench_torch: the PyTorch baseline of `make bench`, mirroring bench/bench_lesion.c.

A plain GPT-2 written with torch ops (the Hugging Face computation: Conv1D
as addmm, explicit causal softmax attention, tanh GELU, tied head), float32,
torch.set_num_threads(--threads), under torch.inference_mode(). Weights are
read from the same model.safetensors, memory-mapped copy-on-write (as the
safetensors package does), so neither side pays for a copy of the file.

The other families are written the same way, picked by config.json's
model_type (the families' rows of make bench):
  llama, mistral, qwen2  RMSNorm, rotary embeddings (rotate-half), grouped-
                         query attention, SwiGLU MLP, weights (out, in)
                         applied with F.linear as torch.nn.Linear does
  gpt_neox               LayerNorm, the fused per-head interleaved
                         query_key_value, partial rotary, exact GELU,
                         parallel or sequential residual
Their configs are read by the independent references' own readers
(tools/reference_llama.py, reference_neox.py: rotary frequencies with
rope_scaling, sliding windows), nothing from lesion's C code; the forward
passes here are written for speed (float32, a KV cache, rotary tables
computed once, grouped-query attention as one batched product per
key/value head without copying keys). torch 1.13 has no
F.scaled_dot_product_attention; attention is the explicit softmax, as for
GPT-2.

One process runs one workload and prints one JSON object, the same fields
as bench_lesion: per-repetition seconds, tokens/s, FLOPs of one repetition
(the same algorithmic count as lesion's, although the T x T attention below
also computes the masked half), load seconds and peak RSS, and the kernel of
the OpenBLAS that torch's dense products run on (Debian's torch links the
same libopenblas.so.0 as lesion; bench/run.sh sets OPENBLAS_CORETYPE for
both sides alike).

Workloads:
  prefill-1x1024, prefill-8x128   full logits (B,T,V)
  decode         16-token prompt (untimed), then --steps greedy single-token
                 steps through a preallocated KV cache
  first-token    from interpreter start (before `import torch`) to the first
                 sampled token, including loading the weights
  prefill-1x512  the same with one sequence of 512 tokens (family rows)
  sgemm          torch.mm of (1024,768) x (768,3072)
  check          not timed: runs --check-ids through the model and compares
                 the logits with --ref (lesion logits' .npy of the same ids)
                 and the KV-cache path with the full forward; prints the
                 max |difference| and whether both are within --tolerance
  sweep          the seed experiment: W_Q of blocks 0..k-1 replaced by
                 Gaussian noise matching the slice's mean and std, k = 1..L,
                 --seeds seeds each plus one clean run; every run is a full
                 forward over --eval-tokens tokens in chunks of --ctx, --batch
                 chunks per forward, scored by mean cross-entropy; the weights
                 are restored after each run

Usage:
  bench_torch.py --model DIR --workload W [--threads 2] [--warmup 1] [--reps 3] [--steps 128] [--label NAME]
  bench_torch.py --model DIR --workload check --ref LOGITS.npy --check-ids 1,2,3 [--tolerance 1e-4]
  bench_torch.py --model DIR --workload sweep [--seeds 5] [--eval-tokens 4096] [--ctx 256] [--batch 8] [--ids-file F]
"""
import time

T_START = time.perf_counter()  # before importing torch: first-token counts the import

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

def openblas_kernel():
    """The kernel OpenBLAS picked in this process (torch has loaded it), or None."""
    import ctypes
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return None


PER_LAYER = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
             "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
             "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]


def load_safetensors_mmap(path):
    """name -> float32 torch tensor; F32 tensors are views of a copy-on-write mapping."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    mm = np.memmap(path, dtype=np.uint8, mode="c")
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = mm[base + b: base + e]
        shape = info["shape"]
        if info["dtype"] == "F32" and (base + b) % 4 == 0:
            arr = raw.view(np.float32).reshape(shape)
        elif info["dtype"] == "F32":
            arr = np.frombuffer(raw.tobytes(), dtype="<f4").reshape(shape)
        elif info["dtype"] == "F16":
            arr = raw.view(np.float16).astype(np.float32).reshape(shape)
        elif info["dtype"] == "BF16":
            arr = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32).reshape(shape)
        else:
            continue  # attn.bias mask buffers and the like
        out[name[len("transformer."):] if name.startswith("transformer.") else name] = torch.from_numpy(arr)
    return out


def load_checkpoint_mmap(model_dir):
    """load_safetensors_mmap over model.safetensors, or over every shard that
    model.safetensors.index.json lists."""
    single = os.path.join(model_dir, "model.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that the copy-on-write arrays are writable
        if os.path.exists(single):
            return load_safetensors_mmap(single)
        with open(os.path.join(model_dir, "model.safetensors.index.json")) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        out = {}
        for shard in shards:
            out.update(load_safetensors_mmap(os.path.join(model_dir, shard)))
        return out


class GPT2:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        self.L, self.H, self.C = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
        self.V = cfg["vocab_size"]
        self.n_ctx = cfg.get("n_positions", cfg.get("n_ctx"))
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = load_safetensors_mmap(os.path.join(model_dir, "model.safetensors"))
        self.wte, self.wpe = t["wte.weight"], t["wpe.weight"]
        self.lnf_w, self.lnf_b = t["ln_f.weight"], t["ln_f.bias"]
        self.layers = [{k: t["h.%d.%s" % (l, k)] for k in PER_LAYER} for l in range(self.L)]

    def config(self):
        return {"n_layer": self.L, "n_head": self.H, "n_embd": self.C, "vocab_size": self.V, "n_ctx": self.n_ctx}

    def flops_shape(self):
        return dict(self.config(), n_kv_head=self.H, d_head=self.C // self.H, n_ff=4 * self.C, gated=False)

    def new_cache(self, B, S):
        D = self.C // self.H
        return torch.empty(self.L, 2, B, self.H, S, D)

    def forward(self, ids, pos0=0, cache=None, last_only=False):
        """ids (B,T) -> logits (B,T,V), or (B,V) when last_only; fills cache (L,2,B,H,S,D) if given."""
        B, T = ids.shape
        C, H = self.C, self.H
        D = C // H
        x = self.wte[ids] + self.wpe[pos0:pos0 + T]                      # (B,T,C)
        n_keys = pos0 + T
        mask = None
        if T > 1:
            mask = torch.ones(T, n_keys, dtype=torch.bool).tril(diagonal=pos0).logical_not()
        for l, p in enumerate(self.layers):
            a = F.layer_norm(x, (C,), p["ln_1.weight"], p["ln_1.bias"], self.eps)
            qkv = torch.addmm(p["attn.c_attn.bias"], a.view(-1, C), p["attn.c_attn.weight"])
            q, k, v = qkv.view(B, T, 3, H, D).permute(2, 0, 3, 1, 4)       # each (B,H,T,D)
            if cache is not None:
                cache[l, 0, :, :, pos0:n_keys] = k
                cache[l, 1, :, :, pos0:n_keys] = v
                k, v = cache[l, 0, :, :, :n_keys], cache[l, 1, :, :, :n_keys]
            att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(D))  # (B,H,T,n_keys)
            if mask is not None:
                att = att.masked_fill(mask, float("-inf"))
            y = torch.matmul(torch.softmax(att, dim=-1), v)                # (B,H,T,D)
            y = y.transpose(1, 2).reshape(B * T, C)
            x = x + torch.addmm(p["attn.c_proj.bias"], y, p["attn.c_proj.weight"]).view(B, T, C)
            m = F.layer_norm(x, (C,), p["ln_2.weight"], p["ln_2.bias"], self.eps)
            h = F.gelu(torch.addmm(p["mlp.c_fc.bias"], m.view(-1, C), p["mlp.c_fc.weight"]), approximate="tanh")
            x = x + torch.addmm(p["mlp.c_proj.bias"], h, p["mlp.c_proj.weight"]).view(B, T, C)
        if last_only:
            x = x[:, -1]
        x = F.layer_norm(x, (C,), self.lnf_w, self.lnf_b, self.eps)
        return torch.matmul(x, self.wte.t())


def rotate_half(x):
    """(..., R) -> (..., R): (-x2, x1) for the halves x1, x2 (Hugging Face's rotary convention)."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class RotaryTables:
    """cos and sin (S,R) of position p * inv_freq, the frequencies repeated for
    both halves, computed once and grown when a longer sequence comes."""

    def __init__(self, inv_freq):
        self.inv_freq = inv_freq.to(torch.float32)       # (R/2,)
        self.cos = self.sin = torch.empty(0)

    def at(self, pos0, T):
        if self.cos.shape[0] < pos0 + T:
            angle = torch.arange(pos0 + T, dtype=torch.float32)[:, None] * self.inv_freq[None, :]
            angle = torch.cat((angle, angle), dim=-1)     # (S,R)
            self.cos, self.sin = torch.cos(angle), torch.sin(angle)
        return self.cos[pos0:pos0 + T], self.sin[pos0:pos0 + T]


def hidden_mask(T, pos0, window=None):
    """(T, pos0+T) bool, True where query pos0+t must not see key j: j > pos0+t,
    or under a sliding window W, j <= pos0+t-W. None when nothing is hidden."""
    i = torch.arange(pos0, pos0 + T)[:, None]
    j = torch.arange(pos0 + T)[None, :]
    hidden = j > i
    if window is not None:
        hidden = hidden | (j <= i - window)
    return hidden if bool(hidden.any()) else None


def grouped_attention(q, k, v, masks, scale):
    """q (B,H,T,D), k and v (B,KV,S,D), masks (T,S) bool or None -> (B,T,H*D).
    Query head h reads key/value head h // (H/KV): the G = H/KV query heads of
    a group are stacked as G*T rows against their one key head, so keys and
    values are never copied per query head."""
    B, H, T, D = q.shape
    KV, S = k.shape[1], k.shape[2]
    G = H // KV
    att = torch.matmul(q.reshape(B, KV, G * T, D), k.transpose(-1, -2)) * scale   # (B,KV,G*T,S)
    if masks is not None:
        att = att.view(B, KV, G, T, S).masked_fill(masks, float("-inf")).view(B, KV, G * T, S)
    y = torch.matmul(torch.softmax(att, dim=-1), v)                                # (B,KV,G*T,D)
    return y.view(B, H, T, D).transpose(1, 2).reshape(B, T, H * D)


def tools_import(name):
    """A module of tools/ (the references' config readers), imported only when a family model is opened."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    return __import__(name)


class LlamaFamily:
    """llama, mistral, qwen2 (see the module comment and tools/reference_llama.py's math)."""

    def __init__(self, model_dir):
        ref = tools_import("reference_llama")
        c = ref.load_config(model_dir)
        self.arch = c["family"]
        self.L, self.H, self.KV, self.D = c["n_layer"], c["n_head"], c["n_kv_head"], c["d_head"]
        self.C, self.F, self.V, self.n_ctx, self.eps = c["n_embd"], c["d_ff"], c["vocab_size"], c["n_ctx"], c["eps"]
        self.windows = c["windows"]
        self.rope = RotaryTables(ref.inv_freq(c, torch.float64))
        t = load_checkpoint_mmap(model_dir)
        self.embed, self.norm = t["model.embed_tokens.weight"], t["model.norm.weight"]
        self.head = self.embed if c["tied"] else t["lm_head.weight"]

        def layer(l):
            p = "model.layers.%d." % l
            get = lambda k: t.get(p + k)  # noqa: E731  (q/k/v biases only on qwen2)
            return {"in_norm": get("input_layernorm.weight"), "post_norm": get("post_attention_layernorm.weight"),
                    "q": get("self_attn.q_proj.weight"), "k": get("self_attn.k_proj.weight"),
                    "v": get("self_attn.v_proj.weight"), "o": get("self_attn.o_proj.weight"),
                    "qb": get("self_attn.q_proj.bias") if c["qkv_bias"] else None,
                    "kb": get("self_attn.k_proj.bias") if c["qkv_bias"] else None,
                    "vb": get("self_attn.v_proj.bias") if c["qkv_bias"] else None,
                    "gate": get("mlp.gate_proj.weight"), "up": get("mlp.up_proj.weight"),
                    "down": get("mlp.down_proj.weight")}
        self.layers = [layer(l) for l in range(self.L)]

    def config(self):
        return {"arch": self.arch, "n_layer": self.L, "n_head": self.H, "n_kv_head": self.KV, "d_head": self.D,
                "n_embd": self.C, "n_ff": self.F, "vocab_size": self.V, "n_ctx": self.n_ctx}

    def flops_shape(self):
        return dict(self.config(), gated=True)

    def new_cache(self, B, S):
        return torch.empty(self.L, 2, B, self.KV, S, self.D)

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps) * w

    def forward(self, ids, pos0=0, cache=None, last_only=False):
        """ids (B,T) -> logits (B,T,V), or (B,V) when last_only; fills cache (L,2,B,KV,S,D) if given."""
        B, T = ids.shape
        H, KV, D = self.H, self.KV, self.D
        n_keys = pos0 + T
        cos, sin = self.rope.at(pos0, T)                                    # (T,D)
        masks = {w: hidden_mask(T, pos0, w) for w in set(self.windows)}
        x = self.embed[ids]                                                 # (B,T,C)
        for l, p in enumerate(self.layers):
            a = self.rms(x, p["in_norm"])
            q = F.linear(a, p["q"], p["qb"]).view(B, T, H, D).transpose(1, 2)    # (B,H,T,D)
            k = F.linear(a, p["k"], p["kb"]).view(B, T, KV, D).transpose(1, 2)   # (B,KV,T,D)
            v = F.linear(a, p["v"], p["vb"]).view(B, T, KV, D).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if cache is not None:
                cache[l, 0, :, :, pos0:n_keys] = k
                cache[l, 1, :, :, pos0:n_keys] = v
                k, v = cache[l, 0, :, :, :n_keys], cache[l, 1, :, :, :n_keys]
            y = grouped_attention(q, k, v, masks[self.windows[l]], 1.0 / math.sqrt(D))   # (B,T,H*D)
            x = x + F.linear(y, p["o"])
            m = self.rms(x, p["post_norm"])
            x = x + F.linear(F.silu(F.linear(m, p["gate"])) * F.linear(m, p["up"]), p["down"])
        if last_only:
            x = x[:, -1]
        return F.linear(self.rms(x, self.norm), self.head)


class NeoX:
    """gpt_neox (Pythia; see the module comment and tools/reference_neox.py's math)."""

    def __init__(self, model_dir):
        ref = tools_import("reference_neox")
        c = ref.load_config(model_dir)
        self.arch = "gpt_neox"
        self.L, self.H, self.C, self.F = c["n_layer"], c["n_head"], c["n_embd"], c["d_ff"]
        self.D, self.R, self.V, self.n_ctx, self.eps = c["d_head"], c["d_rot"], c["vocab_size"], c["n_ctx"], c["eps"]
        self.parallel = c["parallel"]
        self.rope = RotaryTables(c["rope_base"] ** (-torch.arange(0, self.R, 2, dtype=torch.float64) / self.R))
        t = load_checkpoint_mmap(model_dir)
        self.embed = t["gpt_neox.embed_in.weight"]
        self.lnf_w, self.lnf_b = t["gpt_neox.final_layer_norm.weight"], t["gpt_neox.final_layer_norm.bias"]
        self.head = self.embed if c["tied"] else t["embed_out.weight"]
        names = {"ln1_w": "input_layernorm.weight", "ln1_b": "input_layernorm.bias",
                 "ln2_w": "post_attention_layernorm.weight", "ln2_b": "post_attention_layernorm.bias",
                 "qkv_w": "attention.query_key_value.weight", "qkv_b": "attention.query_key_value.bias",
                 "o_w": "attention.dense.weight", "o_b": "attention.dense.bias",
                 "up_w": "mlp.dense_h_to_4h.weight", "up_b": "mlp.dense_h_to_4h.bias",
                 "down_w": "mlp.dense_4h_to_h.weight", "down_b": "mlp.dense_4h_to_h.bias"}
        self.layers = [{k: t.get("gpt_neox.layers.%d.%s" % (l, n)) for k, n in names.items()} for l in range(self.L)]

    def config(self):
        return {"arch": self.arch, "n_layer": self.L, "n_head": self.H, "n_kv_head": self.H, "d_head": self.D,
                "n_embd": self.C, "n_ff": self.F, "vocab_size": self.V, "n_ctx": self.n_ctx}

    def flops_shape(self):
        return dict(self.config(), gated=False)

    def new_cache(self, B, S):
        return torch.empty(self.L, 2, B, self.H, S, self.D)

    def rotary(self, x, cos, sin):
        """The first R dims of each head rotate (rotate-half within them); the rest pass."""
        R = self.R
        if R == 0:
            return x
        r = x[..., :R]
        return torch.cat((r * cos + rotate_half(r) * sin, x[..., R:]), dim=-1)

    def forward(self, ids, pos0=0, cache=None, last_only=False):
        """ids (B,T) -> logits (B,T,V), or (B,V) when last_only; fills cache (L,2,B,H,S,D) if given."""
        B, T = ids.shape
        C, H, D = self.C, self.H, self.D
        n_keys = pos0 + T
        cos, sin = self.rope.at(pos0, T)                                    # (T,R)
        mask = hidden_mask(T, pos0)
        x = self.embed[ids]                                                 # (B,T,C)
        for l, p in enumerate(self.layers):
            a = F.layer_norm(x, (C,), p["ln1_w"], p["ln1_b"], self.eps)
            qkv = F.linear(a, p["qkv_w"], p["qkv_b"]).view(B, T, H, 3 * D).transpose(1, 2)   # (B,H,T,3D): Q|K|V per head
            q = self.rotary(qkv[..., :D], cos, sin)
            k = self.rotary(qkv[..., D:2 * D], cos, sin)
            v = qkv[..., 2 * D:]
            if cache is not None:
                cache[l, 0, :, :, pos0:n_keys] = k
                cache[l, 1, :, :, pos0:n_keys] = v
                k, v = cache[l, 0, :, :, :n_keys], cache[l, 1, :, :, :n_keys]
            y = grouped_attention(q, k, v, mask, 1.0 / math.sqrt(D))       # (B,T,C)
            attn = F.linear(y, p["o_w"], p["o_b"])
            if self.parallel:  # x + attn(ln1 x) + mlp(ln2 x)
                m = F.layer_norm(x, (C,), p["ln2_w"], p["ln2_b"], self.eps)
                x = x + attn + F.linear(F.gelu(F.linear(m, p["up_w"], p["up_b"])), p["down_w"], p["down_b"])
            else:
                x = x + attn
                m = F.layer_norm(x, (C,), p["ln2_w"], p["ln2_b"], self.eps)
                x = x + F.linear(F.gelu(F.linear(m, p["up_w"], p["up_b"])), p["down_w"], p["down_b"])
        if last_only:
            x = x[:, -1]
        return F.linear(F.layer_norm(x, (C,), self.lnf_w, self.lnf_b, self.eps), self.head)


def open_model(model_dir):
    """The model class config.json's model_type names (absent: GPT-2's first configs)."""
    with open(os.path.join(model_dir, "config.json")) as f:
        kind = json.load(f).get("model_type", "gpt2")
    if kind == "gpt2":
        return GPT2(model_dir)
    if kind in ("llama", "mistral", "qwen2"):
        return LlamaFamily(model_dir)
    if kind == "gpt_neox":
        return NeoX(model_dir)
    raise SystemExit("bench_torch: model_type %r is not benchmarked" % kind)


def fill_ids(n, V):
    """The ids bench_lesion uses: ls_mix64(1234, i) % V (splitmix64 finaliser over a Weyl step)."""
    M = (1 << 64) - 1
    out = []
    for i in range(n):
        z = (1234 + (i + 1) * 0x9E3779B97F4A7C15) & M
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        out.append((z ^ (z >> 31)) % V)
    return torch.tensor(out, dtype=torch.long)


def forward_flops(c, B, T, pos0, n_logits):
    """Matmul FLOPs, the same count as bench_lesion.c's forward_flops (c: a model's flops_shape())."""
    C = float(c["n_embd"])
    HD, KVD = float(c["n_head"] * c["d_head"]), float(c["n_kv_head"] * c["d_head"])
    mlp_mats = 3 if c["gated"] else 2
    keys = sum(pos0 + t + 1 for t in range(T))
    per_layer = (4.0 * C * HD + 4.0 * C * KVD + 2.0 * mlp_mats * C * c["n_ff"]) * T + 4.0 * HD * keys
    return B * c["n_layer"] * per_layer + 2.0 * C * c["vocab_size"] * n_logits


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn, warmup, reps):
    secs = []
    for i in range(warmup + reps):
        t0 = time.perf_counter()
        fn()
        if i >= warmup:
            secs.append(time.perf_counter() - t0)
    return secs


def run_prefill(m, B, T, a):
    ids = fill_ids(B * T, m.V).view(B, T)
    secs = timed(lambda: m.forward(ids), a.warmup, a.reps)
    return secs, B * T, forward_flops(m.flops_shape(), B, T, 0, B * T)


def run_decode(m, a):
    n_prompt, S = 16, 16 + a.steps
    prompt = fill_ids(n_prompt, m.V).view(1, n_prompt)
    cache = m.new_cache(1, S)

    def steps():
        logits = m.forward(prompt, 0, cache, last_only=True)
        t0 = time.perf_counter()
        for p in range(n_prompt, S):
            nxt = torch.argmax(logits, dim=-1).view(1, 1)
            logits = m.forward(nxt, p, cache, last_only=True)
        return time.perf_counter() - t0

    secs = []
    for i in range(a.warmup + a.reps):
        s = steps()
        if i >= a.warmup:
            secs.append(s)
    flops = sum(forward_flops(m.flops_shape(), 1, 1, p, 1) for p in range(n_prompt, S))
    return secs, a.steps, flops


def run_check(m, a):
    """Not timed: whether this forward computes what lesion computes. The logits
    of --check-ids against --ref (lesion logits of the same ids, (T,V)), and the
    KV-cache path (half the ids as a prompt, then one id per step) against the
    full forward; both within --tolerance x max(1, max |ref logit|)."""
    ids = [int(x) for x in a.check_ids.split(",") if x.strip()]
    ref = torch.from_numpy(np.load(a.ref).astype(np.float32))
    full = m.forward(torch.tensor([ids]))[0]                                  # (T,V)
    if tuple(ref.shape) != tuple(full.shape):
        return {"ok": False, "error": "--ref has shape %s, the model gives %s" % (list(ref.shape), list(full.shape))}
    n0 = max(1, len(ids) // 2)
    cache = m.new_cache(1, len(ids))
    rows = [m.forward(torch.tensor([ids[:n0]]), 0, cache)[0]]                 # (n0,V)
    rows += [m.forward(torch.tensor([[ids[p]]]), p, cache)[0] for p in range(n0, len(ids))]
    stepped = torch.cat(rows)                                                 # (T,V)
    scale = max(1.0, float(ref.abs().max()))
    diff, cache_diff = float((full - ref).abs().max()), float((stepped - full).abs().max())
    return {"ids": len(ids), "max_abs_diff": diff, "cache_max_abs_diff": cache_diff,
            "max_abs_logit": float(ref.abs().max()), "tolerance": a.tolerance * scale,
            "argmax_equal": bool(torch.equal(full.argmax(dim=-1), ref.argmax(dim=-1))),
            "ok": diff <= a.tolerance * scale and cache_diff <= a.tolerance * scale}


def run_sgemm(a):
    M, K, N = 1024, 768, 3072
    x, w = torch.rand(M, K), torch.rand(K, N)
    secs = timed(lambda: torch.mm(x, w), a.warmup, a.reps)
    return secs, M, 2.0 * M * N * K


def read_ids(path, n, V):
    if path:
        with open(path) as f:
            ids = [int(s) for s in f.read().replace("\n", ",").split(",") if s.strip()]
        return torch.tensor(ids[:n], dtype=torch.long)
    return fill_ids(n, V)


def run_sweep(m, a):
    """The seed experiment with full forward passes; returns (secs, runs, mean CE per run)."""
    ids = read_ids(a.ids_file, a.eval_tokens, m.V)
    n_chunks = ids.numel() // a.ctx
    chunks = ids[:n_chunks * a.ctx].view(n_chunks, a.ctx)
    C = m.C

    def mean_ce():
        nll, n = 0.0, 0
        for i in range(0, n_chunks, a.batch):
            x = chunks[i:i + a.batch]
            logits = m.forward(x)                                        # (b,ctx,V)
            nll += F.cross_entropy(logits[:, :-1].reshape(-1, m.V), x[:, 1:].reshape(-1), reduction="sum").item()
            n += x.shape[0] * (a.ctx - 1)
        return nll / n

    t0 = time.perf_counter()
    ces = [mean_ce()]                                                    # the clean model, once
    for k in range(1, m.L + 1):
        for s in range(a.seeds):
            g = torch.Generator().manual_seed(1000 * k + s)
            saved = []
            for l in range(k):
                w = m.layers[l]["attn.c_attn.weight"]
                q = w[:, :C]                                             # W_Q columns (C,C)
                saved.append(q.clone())
                mean, std = q.mean(), q.std()
                q.copy_(torch.randn(q.shape, generator=g) * std + mean)
            ces.append(mean_ce())
            for l in range(k):
                m.layers[l]["attn.c_attn.weight"][:, :C].copy_(saved[l])
    secs = time.perf_counter() - t0
    return [secs], len(ces), ces


def main(argv):
    ap = argparse.ArgumentParser(description="PyTorch baseline for make bench (see bench/bench_lesion.c).")
    ap.add_argument("--model", required=True)
    ap.add_argument("--workload", required=True,
                    choices=["prefill-1x1024", "prefill-1x512", "prefill-8x128", "decode", "first-token", "sgemm",
                             "sweep", "check"])
    ap.add_argument("--label", help="the workload name printed (the family rows: smollm2-135m/prefill-1x512)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=128)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--eval-tokens", type=int, default=4096)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--ids-file", help="comma-separated token ids for sweep (default: the hashed ids)")
    ap.add_argument("--ref", help="check: lesion's logits (T,V) .npy of --check-ids")
    ap.add_argument("--check-ids", help="check: comma-separated token ids")
    ap.add_argument("--tolerance", type=float, default=1e-4,
                    help="check: largest |difference| allowed, times max(1, max |logit|) (default 1e-4)")
    a = ap.parse_args(argv)
    if a.workload == "check" and not (a.ref and a.check_ids):
        ap.error("check needs --ref and --check-ids")
    torch.set_num_threads(a.threads)
    out = {"impl": "torch", "workload": a.label or a.workload, "threads": torch.get_num_threads(),
           "warmup": a.warmup, "torch_version": torch.__version__, "blas_kernel": openblas_kernel()}
    with torch.inference_mode():
        if a.workload == "sgemm":
            secs, tokens, flops = run_sgemm(a)
            load = 0.0
        else:
            t0 = time.perf_counter()
            m = open_model(a.model)
            load = time.perf_counter() - t0
            out["model"] = m.config()
            if a.workload == "check":
                out["check"] = run_check(m, a)
                print(json.dumps(out))
                return 0
            if a.workload == "prefill-1x1024":
                secs, tokens, flops = run_prefill(m, 1, 1024, a)
            elif a.workload == "prefill-1x512":
                secs, tokens, flops = run_prefill(m, 1, 512, a)
            elif a.workload == "prefill-8x128":
                secs, tokens, flops = run_prefill(m, 8, 128, a)
            elif a.workload == "decode":
                secs, tokens, flops = run_decode(m, a)
            elif a.workload == "first-token":
                out["warmup"] = 0
                prompt = fill_ids(16, m.V).view(1, 16)
                t0 = time.perf_counter()
                int(torch.argmax(m.forward(prompt, last_only=True)[0]))
                t1 = time.perf_counter()
                secs, tokens, flops = [t1 - t0], 1, forward_flops(m.flops_shape(), 1, 16, 0, 1)
                out["secs_to_first_token"] = t1 - T_START
            else:
                secs, runs, ces = run_sweep(m, a)
                tokens, flops = 0, 0.0
                out.update(runs=runs, mean_ce=[round(c, 5) for c in ces])
    out.update(secs=[round(s, 6) for s in secs],
               tokens_per_s=[round(tokens / s, 3) for s in secs],
               tokens=tokens, flops=flops, load_secs=round(load, 6), peak_rss_mib=round(peak_rss_mib(), 1))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
