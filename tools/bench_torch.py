#!/usr/bin/python3
"""bench_torch: the PyTorch baseline of `make bench`, mirroring bench/bench_lesion.c.

A plain GPT-2 written with torch ops (the Hugging Face computation: Conv1D
as addmm, explicit causal softmax attention, tanh GELU, tied head), float32,
torch.set_num_threads(--threads), under torch.inference_mode(). Weights are
read from the same model.safetensors, memory-mapped copy-on-write (as the
safetensors package does), so neither side pays for a copy of the file.

One process runs one workload and prints one JSON object, the same fields
as bench_lesion: per-repetition seconds, tokens/s, FLOPs of one repetition
(the same algorithmic count as lesion's, although the T x T attention below
also computes the masked half), load seconds and peak RSS.

Workloads:
  prefill-1x1024, prefill-8x128   full logits (B,T,V)
  decode         16-token prompt (untimed), then --steps greedy single-token
                 steps through a preallocated KV cache
  first-token    from interpreter start (before `import torch`) to the first
                 sampled token, including loading the weights
  sgemm          torch.mm of (1024,768) x (768,3072)
  sweep          the seed experiment: W_Q of blocks 0..k-1 replaced by
                 Gaussian noise matching the slice's mean and std, k = 1..L,
                 --seeds seeds each plus one clean run; every run is a full
                 forward over --eval-tokens tokens in chunks of --ctx, --batch
                 chunks per forward, scored by mean cross-entropy; the weights
                 are restored after each run

Usage:
  bench_torch.py --model DIR --workload W [--threads 2] [--warmup 1] [--reps 3] [--steps 128]
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
    """Matmul FLOPs, the same count as bench_lesion.c's forward_flops."""
    C = float(c["n_embd"])
    keys = sum(pos0 + t + 1 for t in range(T))
    return B * c["n_layer"] * (24.0 * C * C * T + 4.0 * C * keys) + 2.0 * C * c["vocab_size"] * n_logits


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
    return secs, B * T, forward_flops(m.config(), B, T, 0, B * T)


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
    flops = sum(forward_flops(m.config(), 1, 1, p, 1) for p in range(n_prompt, S))
    return secs, a.steps, flops


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
                    choices=["prefill-1x1024", "prefill-8x128", "decode", "first-token", "sgemm", "sweep"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=128)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--eval-tokens", type=int, default=4096)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--ids-file", help="comma-separated token ids for sweep (default: the hashed ids)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    out = {"impl": "torch", "workload": a.workload, "threads": torch.get_num_threads(),
           "warmup": a.warmup, "torch_version": torch.__version__}
    with torch.inference_mode():
        if a.workload == "sgemm":
            secs, tokens, flops = run_sgemm(a)
            load = 0.0
        else:
            t0 = time.perf_counter()
            m = GPT2(a.model)
            load = time.perf_counter() - t0
            out["model"] = m.config()
            if a.workload == "prefill-1x1024":
                secs, tokens, flops = run_prefill(m, 1, 1024, a)
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
                secs, tokens, flops = [t1 - t0], 1, forward_flops(m.config(), 1, 16, 0, 1)
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
