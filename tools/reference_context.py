#!/usr/bin/python3
"""reference_context: how a GPT-2 uses its context, computed independently
of lesion in PyTorch (float64), to check `lesion eval --by-position` and
`lesion attention`.

The model is read by tools/reference_gpt2.py's loader (which shares no code
with lesion); the forward pass here is written again, batched over windows
and heads at once, because it must also return every attention pattern.

Definitions (the same as lesion's docs state them; written here from the
definitions, not from lesion's code):
  - the token ids are cut into disjoint windows of CTX tokens: window k runs
    ids[k*CTX : (k+1)*CTX] and position t predicts ids[k*CTX + t + 1], for
    k = 0 .. floor((n - 1) / CTX) - 1;
  - cross_entropy[t]: mean over windows of -log p(target at t);
  - in_context_score: mean of cross_entropy over t in [CTX - CTX//4, CTX-1]
    minus the mean over t in [16, 32] (CTX >= 64, else None);
  - per (layer, head): the mean over windows and query positions
    t >= MIN_POS of H(p_t) / ln(t + 1), H the entropy in nats of the
    softmax weights over keys 0..t;
  - top offset: the most frequent value of (t - argmax_j p_t[j]) over the
    same rows, where argmax at key 0 counts as "first"; ties go to the
    smaller offset, and "first" wins only when strictly more frequent.

Usage:
  reference_context.py --model DIR --ids-file F --ctx 256 [--min-pos 16]
                       [--zero SPEC ...] [--with-bias] --out result.json
Writes {"windows", "cross_entropy": [CTX], "in_context_score",
"entropy": [[H] x L], "top_offset": [[int|"first"]], "top_offset_share",
"top_offset_lead": rows by which the top offset beats the runner-up}.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_gpt2 as ref  # noqa: E402


def forward_with_patterns(cfg, params, ids):
    """ids (B,T) long -> logits (B,T,V) and patterns [L] of (B,H,T,T), float64."""
    B, T = ids.shape
    C, H = cfg["n_embd"], cfg["n_head"]
    D = C // H

    def P(name):
        return torch.from_numpy(params[name]).double()

    x = P("wte.weight")[ids] + P("wpe.weight")[:T]                        # (B,T,C)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    patterns = []
    for l in range(cfg["n_layer"]):
        p = "h.%d." % l
        a = ref.layer_norm(x, P(p + "ln_1.weight"), P(p + "ln_1.bias"), cfg["eps"])
        qkv = a @ P(p + "attn.c_attn.weight") + P(p + "attn.c_attn.bias")  # (B,T,3C)
        q, k, v = (qkv[..., i * C:(i + 1) * C].reshape(B, T, H, D).transpose(1, 2) for i in range(3))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(D)                  # (B,H,T,T)
        att = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        patterns.append(att)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ P(p + "attn.c_proj.weight") + P(p + "attn.c_proj.bias")
        m = ref.layer_norm(x, P(p + "ln_2.weight"), P(p + "ln_2.bias"), cfg["eps"])
        m = ref.gelu_new(m @ P(p + "mlp.c_fc.weight") + P(p + "mlp.c_fc.bias"))
        x = x + m @ P(p + "mlp.c_proj.weight") + P(p + "mlp.c_proj.bias")
    x = ref.layer_norm(x, P("ln_f.weight"), P("ln_f.bias"), cfg["eps"])
    head = P("wte.weight") if params["head_tied"] else P("head")
    return x @ head.T, patterns


def measure(cfg, params, ids, ctx, min_pos):
    n_win = (len(ids) - 1) // ctx
    if n_win < 1:
        raise ref.RefError("%d tokens: need at least %d" % (len(ids), ctx + 1))
    L, H = cfg["n_layer"], cfg["n_head"]
    nll = torch.zeros(ctx, dtype=torch.float64)
    ent = torch.zeros(L, H, dtype=torch.float64)
    hist = np.zeros((L, H, ctx + 1), dtype=np.int64)  # [o]: offset o, [ctx]: key 0 ("first")
    t_idx = torch.arange(ctx)
    for k in range(n_win):
        x = torch.tensor([ids[k * ctx:(k + 1) * ctx]])
        y = torch.tensor(ids[k * ctx + 1:(k + 1) * ctx + 1])
        logits, patterns = forward_with_patterns(cfg, params, x)
        nll += torch.logsumexp(logits[0], dim=-1) - logits[0, t_idx, y]
        for l, att in enumerate(patterns):
            p = att[0, :, min_pos:, :]                                         # (H,Tq,T)
            plogp = torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))
            h_rows = -plogp.sum(-1)                                            # (H,Tq)
            norm = torch.log(torch.arange(min_pos, ctx, dtype=torch.float64) + 1)
            ent[l] += (h_rows / norm).sum(-1)
            j = p.argmax(-1).numpy()                                           # first max on ties
            t = np.arange(min_pos, ctx)[None, :]
            off = np.where(j == 0, ctx, t - j)
            for h in range(H):
                hist[l, h] += np.bincount(off[h], minlength=ctx + 1)
    rows = n_win * (ctx - min_pos)
    ce = (nll / n_win).tolist()
    score = None
    if ctx >= 64:
        score = float(np.mean(ce[ctx - ctx // 4:]) - np.mean(ce[16:33]))
    top, share, lead = [], [], []
    for l in range(L):
        top.append([]), share.append([]), lead.append([])
        for h in range(H):
            best = int(np.argmax(hist[l, h]))  # lowest index on ties; "first" is index ctx, the last
            top[l].append("first" if best == ctx else best)
            share[l].append(float(hist[l, h, best]) / rows)
            lead[l].append(int(hist[l, h, best] - np.sort(hist[l, h])[-2]))
    return {"windows": n_win, "cross_entropy": ce, "in_context_score": score,
            "entropy": (ent / rows).tolist(), "top_offset": top, "top_offset_share": share,
            "top_offset_lead": lead}


def main(argv):
    ap = argparse.ArgumentParser(description="Per-position loss and attention summaries (independent reference).")
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids-file", required=True)
    ap.add_argument("--ctx", type=int, required=True)
    ap.add_argument("--min-pos", type=int, default=16)
    ap.add_argument("--zero", action="append", default=[], metavar="SPEC")
    ap.add_argument("--with-bias", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    try:
        with open(args.ids_file) as f:
            ids = ref.parse_ids(f.read())
        cfg, params = ref.load_model(args.model)
        for spec in args.zero:
            ref.apply_zero(cfg, params, spec, args.with_bias)
        with torch.no_grad():
            result = measure(cfg, params, ids, args.ctx, args.min_pos)
    except (ref.RefError, OSError, KeyError, ValueError) as e:
        print("reference_context: %s" % e, file=sys.stderr)
        return 1
    with open(args.out, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
