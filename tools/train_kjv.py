#!/usr/bin/python3
"""train_kjv: trains the bundled 12-layer GPT-2 on the King James Bible.

The model is GPT-2 written out in plain PyTorch (Debian ships no
transformers), with parameter names and layouts exactly those of
openai-community/gpt2's model.safetensors, so the C library loads this model
and the real GPT-2 through the same code:

    wte.weight [V,C]   wpe.weight [n_ctx,C]   ln_f.{weight,bias} [C]
    h.{i}.ln_1.{weight,bias} [C]              h.{i}.ln_2.{weight,bias} [C]
    h.{i}.attn.c_attn.{weight [C,3C], bias [3C]}   Q, K, V = columns 0..C-1, C..2C-1, 2C..3C-1
    h.{i}.attn.c_proj.{weight [C,C], bias [C]}
    h.{i}.mlp.c_fc.{weight [C,4C], bias [4C]}
    h.{i}.mlp.c_proj.{weight [4C,C], bias [C]}

Weights are "Conv1D" style, y = x W + b with W stored [in, out]. The lm head
is tied to wte, so it is not saved. Pre-LN blocks, gelu_new (tanh GELU),
attention scaled by 1/sqrt(d_head), no dropout.

Training: random n_ctx-token windows of the tokenized train split (one token
stream; chapters are separated by "\n\n"), AdamW, linear warmup then cosine
decay, gradient clipping at 1.0, fixed seeds. Held-out loss is the mean over
every held-out token: the stream is prefixed with <|endoftext|> and cut into
consecutive windows of n_ctx predictions, so each token is predicted from at
most n_ctx tokens of preceding held-out context within its window.

Usage:
  train_kjv.py --data build/kjv --out models/kjv-gpt2 [--steps N --batch B ...]
  train_kjv.py --data build/kjv --bench 5        times 5 steps, writes nothing
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_train  # noqa: E402
import safetensors_np  # noqa: E402

SAMPLE_PROMPTS = ["And God said", "In the beginning", "The LORD is my shepherd",
                  "Jesus answered and said unto them", "Blessed are"]


class Conv1D(nn.Module):
    """GPT-2's linear layer: weight stored [n_in, n_out], y = x W + b."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(*x.shape[:-1], -1)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg["n_head"]
        self.pdrop = cfg["resid_pdrop"]  # no dropout on the attention weights: it blurs the patterns we measure
        self.c_attn = Conv1D(cfg["n_embd"], 3 * cfg["n_embd"])
        self.c_proj = Conv1D(cfg["n_embd"], cfg["n_embd"])
        n = cfg["n_ctx"]
        self.register_buffer("mask", torch.tril(torch.ones(n, n, dtype=torch.bool)), persistent=False)

    def forward(self, x):  # x (B,T,C)
        B, T, C = x.shape
        d_head = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, d_head).transpose(1, 2)  # (B,H,T,d)
        k = k.view(B, T, self.n_head, d_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, d_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d_head))  # (B,H,T,T)
        att = att.masked_fill(~self.mask[:T, :T], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return F.dropout(self.c_proj(y), self.pdrop, self.training)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = Conv1D(cfg["n_embd"], 4 * cfg["n_embd"])
        self.pdrop = cfg["resid_pdrop"]
        self.c_proj = Conv1D(4 * cfg["n_embd"], cfg["n_embd"])

    def forward(self, x):
        return F.dropout(self.c_proj(gelu_new(self.c_fc(x))), self.pdrop, self.training)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        eps = cfg["layer_norm_epsilon"]
        self.ln_1 = nn.LayerNorm(cfg["n_embd"], eps=eps)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg["n_embd"], eps=eps)
        self.mlp = MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg["vocab_size"], cfg["n_embd"])
        self.pdrop = cfg["embd_pdrop"]
        self.wpe = nn.Embedding(cfg["n_positions"], cfg["n_embd"])
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg["n_layer"]))
        self.ln_f = nn.LayerNorm(cfg["n_embd"], eps=cfg["layer_norm_epsilon"])
        self._init()

    def _init(self):
        """GPT-2's init: N(0, 0.02), residual projections N(0, 0.02/sqrt(2 n_layer))."""
        for name, p in self.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
                nn.init.ones_(p)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)
            elif name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * self.cfg["n_layer"]))
            else:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, idx):  # idx (B,T) -> logits (B,T,V)
        T = idx.shape[1]
        x = F.dropout(self.wte(idx) + self.wpe(torch.arange(T, device=idx.device)), self.pdrop, self.training)
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()


def make_config(vocab_size, eot_id, n_layer=12, n_head=12, n_embd=192, n_ctx=256, pdrop=0.0):
    return {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
            "n_layer": n_layer, "n_head": n_head, "n_embd": n_embd, "n_positions": n_ctx, "n_ctx": n_ctx,
            "vocab_size": vocab_size, "layer_norm_epsilon": 1e-5,
            "activation_function": "gelu_new", "bos_token_id": eot_id, "eos_token_id": eot_id,
            "resid_pdrop": pdrop, "embd_pdrop": pdrop, "attn_pdrop": 0.0}


def save_model(model, out_dir, meta):
    """Writes model.safetensors atomically (temp file, then rename)."""
    tensors = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    path = os.path.join(out_dir, "model.safetensors")
    safetensors_np.save(path + ".tmp", tensors, metadata=dict(meta, format="pt"), dtype="F32")
    os.replace(path + ".tmp", path)


def heldout_windows(tokens, n_ctx, eot_id):
    """(inputs, targets) pairs covering every held-out token exactly once as a target."""
    stream = [eot_id] + list(tokens)
    out = []
    for s in range(0, len(stream) - 1, n_ctx):
        chunk = stream[s:s + n_ctx + 1]
        out.append((torch.tensor(chunk[:-1]), torch.tensor(chunk[1:])))
    return out


@torch.no_grad()
def evaluate(model, windows, batch):
    """Total nats and token count over the windows."""
    model.eval()
    nats, n = 0.0, 0
    full = [w for w in windows if len(w[0]) == len(windows[0][0])]
    rest = [w for w in windows if len(w[0]) != len(windows[0][0])]
    groups = [full[i:i + batch] for i in range(0, len(full), batch)] + [[w] for w in rest]
    for g in groups:
        x = torch.stack([w[0] for w in g])
        y = torch.stack([w[1] for w in g])
        logits = model(x)
        nats += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        n += y.numel()
    model.train()
    return nats, n


@torch.no_grad()
def generate(model, ids, n_new, temperature=0.0, top_k=0, gen=None):
    """Greedy when temperature == 0, else top-k sampling. No KV cache: fine at this size."""
    model.eval()
    ids = list(ids)
    n_ctx = model.cfg["n_ctx"]
    for _ in range(n_new):
        logits = model(torch.tensor([ids[-n_ctx:]]))[0, -1]
        if temperature == 0.0:
            nxt = int(torch.argmax(logits))
        else:
            logits = logits / temperature
            if top_k:
                kth = torch.topk(logits, top_k).values[-1]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            nxt = int(torch.multinomial(logits.softmax(-1), 1, generator=gen))
        ids.append(nxt)
    model.train()
    return ids


def write_samples(model, tok, path, seed):
    gen = torch.Generator().manual_seed(seed)
    lines = ["# Generations by the PyTorch model at the end of training (tools/train_kjv.py).",
             "# greedy: argmax, 60 new tokens. sampled: temperature 0.8, top-k 40, torch seed %d." % seed,
             ""]
    for prompt in SAMPLE_PROMPTS:
        p = tok.encode(prompt)
        greedy = generate(model, p, 60)
        lines += ["== prompt: %r" % prompt, "prompt ids: %s" % p,
                  "-- greedy ids: %s" % greedy[len(p):], "-- greedy:", tok.decode(greedy), ""]
        for k in range(2):
            s = generate(model, p, 60, temperature=0.8, top_k=40, gen=gen)
            lines += ["-- sampled %d:" % (k + 1), tok.decode(s), ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def load_tokens(data_dir, tok, name):
    """Tokenizes data_dir/name once and caches it as .npy next to it."""
    cache = os.path.join(data_dir, name + ".tokens.npy")
    src = os.path.join(data_dir, name)
    if os.path.exists(cache) and os.path.getmtime(cache) >= max(
            os.path.getmtime(src), os.path.getmtime(os.path.join(data_dir, "merges.txt"))):
        return np.load(cache)
    with open(src, encoding="utf-8") as f:
        text = f.read()
    ids = np.array(tok.encode(text), dtype=np.int64)
    if tok.decode(ids.tolist()) != text:
        raise ValueError("tokenizer round trip failed on " + src)
    np.save(cache, ids)
    return ids


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    frac = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1.0 + math.cos(math.pi * min(1.0, frac)))


# Arguments that define the trajectory: a resumed run must use the same values,
# or its weights would not be those of one uninterrupted run.
TRAJECTORY_ARGS = ("steps", "batch", "lr", "min_lr", "warmup", "weight_decay", "seed",
                   "n_layer", "n_head", "n_embd", "n_ctx", "dropout", "threads", "gelu", "autocast")


def save_state(path, model, opt, gen, step, args, elapsed):
    """Everything needed to continue the same trajectory, written atomically:
    weights, AdamW moments, the window-sampling generator, torch's global RNG,
    the step and the arguments that define the run."""
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
             "torch_rng": torch.get_rng_state(), "step": step, "elapsed_secs": elapsed,
             "args": {k: getattr(args, k) for k in TRAJECTORY_ARGS}}
    torch.save(state, path + ".tmp")
    with open(path + ".tmp", "rb") as f:
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)


def heldout_by_position(model, windows, batch, n_ctx):
    """Mean held-out loss (nats) per position over the full-length windows in
    `windows`, and the in-context score: loss over the last quarter of the
    positions minus loss over positions 16..32 (0-based; negative = later
    tokens, with more context, are predicted better)."""
    full = [w for w in windows if len(w[0]) == n_ctx]
    sums = torch.zeros(n_ctx, dtype=torch.float64)
    model.eval()
    with torch.no_grad():
        for i in range(0, len(full), batch):
            g = full[i:i + batch]
            x = torch.stack([w[0] for w in g])
            y = torch.stack([w[1] for w in g])
            logits = model(x)
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
            sums += nll.view(len(g), n_ctx).sum(0).double()
    model.train()
    per_pos = sums / max(1, len(full))
    late = per_pos[n_ctx - n_ctx // 4:].mean().item()
    early = per_pos[16:33].mean().item()
    return per_pos, late - early


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="build/kjv", help="dir with train.txt, heldout.txt, vocab.json, merges.txt")
    ap.add_argument("--out", default="models/kjv-gpt2")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--stop-after", type=int, default=0,
                    help="end after this many steps of the --steps schedule (0: run it all); the learning-rate "
                         "schedule stays that of --steps, so the result equals that run's checkpoint at this step")
    ap.add_argument("--batch", type=int, default=16, help="sequences of n_ctx tokens per step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--n-layer", type=int, default=12)
    ap.add_argument("--n-head", type=int, default=12)
    ap.add_argument("--n-embd", type=int, default=192)
    ap.add_argument("--n-ctx", type=int, default=256)
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="GPT-2's dropout (embeddings, attention weights, residual branches) while training")
    ap.add_argument("--gelu", choices=("formula", "fused"), default="fused",
                    help="gelu_new written out (5 elementwise ops) or torch's fused tanh GELU (the same function)")
    ap.add_argument("--autocast", choices=("off", "bf16"), default="off",
                    help="bf16: matmuls in bfloat16 under torch.cpu.amp.autocast (weights stay fp32)")
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-windows", type=int, default=32, help="held-out windows in the periodic eval")
    ap.add_argument("--ckpt-minutes", type=float, default=5.0,
                    help="write OUT/train_state.pt (and model.safetensors) at least this often")
    ap.add_argument("--resume", action="store_true",
                    help="continue from OUT/train_state.pt: the same trajectory as one uninterrupted run")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bench", type=int, default=0, help="time this many steps and exit, writing nothing")
    ap.add_argument("--no-final", action="store_true", help="skip the final full evaluation and samples (tests)")
    args = ap.parse_args()

    global gelu_new
    if args.gelu == "fused":
        gelu_new = lambda x: F.gelu(x, approximate="tanh")  # noqa: E731
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    tok = bpe_train.Tokenizer.load(args.data)
    eot = tok.vocab[bpe_train.EOT]
    cfg = make_config(len(tok.vocab), eot, args.n_layer, args.n_head, args.n_embd, args.n_ctx, args.dropout)
    train_ids = torch.from_numpy(load_tokens(args.data, tok, "train.txt"))
    held_ids = load_tokens(args.data, tok, "heldout.txt")
    with open(os.path.join(args.data, "heldout.txt"), "rb") as f:
        held_bytes = len(f.read())
    windows = heldout_windows(held_ids.tolist(), cfg["n_ctx"], eot)

    model = GPT2(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8, foreach=True)
    gen = torch.Generator().manual_seed(args.seed)
    T = cfg["n_ctx"]
    autocast = torch.cpu.amp.autocast(enabled=args.autocast == "bf16", dtype=torch.bfloat16)
    print("params %d, train tokens %d, held-out tokens %d (%d bytes), threads %d"
          % (n_params, len(train_ids), len(held_ids), held_bytes, torch.get_num_threads()), flush=True)

    def step_once(step):
        starts = torch.randint(0, len(train_ids) - T - 1, (args.batch,), generator=gen)
        x = torch.stack([train_ids[s:s + T] for s in starts])
        y = torch.stack([train_ids[s + 1:s + T + 1] for s in starts])
        lr = lr_at(step, args)
        for g in opt.param_groups:
            g["lr"] = lr
        with autocast:
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item(), lr

    if args.bench:
        for i in range(args.bench):
            t0 = time.time()
            loss, _ = step_once(i)
            print("bench step %d: loss %.4f, %.2f s, %.0f tokens/s"
                  % (i, loss, time.time() - t0, args.batch * T / (time.time() - t0)), flush=True)
        return 0

    os.makedirs(args.out, exist_ok=True)
    state_path = os.path.join(args.out, "train_state.pt")
    log_path = os.path.join(args.out, "train_log.tsv")
    first, elapsed_before = 0, 0.0
    if args.resume:
        state = torch.load(state_path)
        saved = state["args"]
        for k in TRAJECTORY_ARGS:
            if saved.get(k) != getattr(args, k):
                sys.exit("train_kjv: --resume with --%s %s, but %s was started with %s"
                         % (k.replace("_", "-"), getattr(args, k), state_path, saved.get(k)))
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"])
        torch.set_rng_state(state["torch_rng"])
        first, elapsed_before = state["step"], state["elapsed_secs"]
        # Keep the log lines up to the checkpoint; later ones are recomputed.
        kept = []
        with open(log_path) as f:
            for line in f:
                head = line.split("\t", 1)[0]
                if line.startswith("#") or head == "step" or (head.isdigit() and int(head) <= first):
                    kept.append(line)
        log = open(log_path, "w")
        log.writelines(kept)
        log.write("# resumed at step %d: %s\n" % (first, " ".join(sys.argv)))
        print("resumed from %s at step %d" % (state_path, first), flush=True)
    else:
        with open(os.path.join(args.out, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        for name in ("vocab.json", "merges.txt", "heldout.txt"):
            with open(os.path.join(args.data, name), "rb") as src, open(os.path.join(args.out, name), "wb") as dst:
                dst.write(src.read())
        log = open(log_path, "w")
        log.write("step\ttrain_loss\tlr\ttokens_per_sec\telapsed_secs\theldout_loss\tin_context\n")
        log.write("# %s\n" % " ".join(sys.argv))
    log.flush()

    t_start = time.time() - elapsed_before
    t_last, step_last, loss_sum, loss_n = time.time(), first, 0.0, 0
    t_ckpt = time.time()
    last = args.stop_after if 0 < args.stop_after < args.steps else args.steps
    for step in range(first, last):
        loss, lr = step_once(step)
        loss_sum, loss_n = loss_sum + loss, loss_n + 1
        done = step + 1
        if done % args.log_every == 0 or done == last:
            now = time.time()
            tps = (done - step_last) * args.batch * T / (now - t_last)
            held = ctx = ""
            if done % args.eval_every == 0:
                nats, n = evaluate(model, windows[:args.eval_windows], args.batch)
                _, score = heldout_by_position(model, windows[:args.eval_windows], args.batch, T)
                held, ctx = "%.4f" % (nats / n), "%.4f" % score
            log.write("%d\t%.4f\t%.6g\t%.0f\t%.1f\t%s\t%s\n"
                      % (done, loss_sum / loss_n, lr, tps, now - t_start, held, ctx))
            log.flush()
            print("step %d/%d loss %.4f lr %.3g %.0f tok/s %.0fs held %s ctx %s"
                  % (done, args.steps, loss_sum / loss_n, lr, tps, now - t_start, held or "-", ctx or "-"),
                  flush=True)
            t_last, step_last, loss_sum, loss_n = time.time(), done, 0.0, 0
        if time.time() - t_ckpt >= args.ckpt_minutes * 60 or done == last:
            t0 = time.time()
            save_state(state_path, model, opt, gen, done, args, t0 - t_start)
            save_model(model, args.out, {"step": str(done)})
            t_ckpt = time.time()
            t_last += t_ckpt - t0  # checkpoint time is not training throughput

    train_secs = time.time() - t_start
    if args.no_final:
        log.close()
        return 0
    nats, n = evaluate(model, windows, args.batch)
    per_pos, score = heldout_by_position(model, windows, args.batch, T)
    bpb = nats / math.log(2) / held_bytes
    log.write("# final: steps %d, train_secs %.0f, heldout_loss %.4f nats/token over %d tokens, "
              "heldout_nats %.1f, heldout_bytes %d, bits_per_byte %.4f, in_context %.4f\n"
              % (last, train_secs, nats / n, n, nats, held_bytes, bpb, score))
    log.close()
    print("final held-out: %.4f nats/token over %d tokens, %.4f bits/byte over %d bytes, in-context %.4f; "
          "trained %.0f s" % (nats / n, n, bpb, held_bytes, score, train_secs), flush=True)
    write_samples(model, tok, os.path.join(args.out, "samples_torch.txt"), args.seed)
    print("wrote", args.out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
