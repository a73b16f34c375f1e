#!/usr/bin/python3
"""bpe_train: a byte-level BPE tokenizer trained with GPT-2's exact algorithm.

GPT-2's tokenizer is three things, all reproduced here:
  - pre-tokenization: text is cut into "words" by PAT below (the `regex`
    module is needed for \\p{L} and \\p{N}); merges never cross a word;
  - bytes_to_unicode: each byte 0..255 maps to one printable unicode
    character, so tokens are strings and vocab.json is plain JSON;
  - merges: a ranked list of symbol pairs. Encoding a word starts from its
    byte symbols and repeatedly merges the adjacent pair of lowest rank.

Training learns the merges greedily: count every adjacent symbol pair over
the pre-tokenized word counts, merge the most frequent pair everywhere, and
repeat. Ties go to the lexicographically smallest pair (comparing the two
symbol strings), so the result is deterministic. Pair counts are updated
incrementally from only the words that contain the merged pair, with a lazy
max-heap, so 8k merges over the KJV take seconds, not hours.

Ids: 0..255 are the byte symbols in bytes_to_unicode order (as in GPT-2's
encoder.json), then one id per merge in rank order, then <|endoftext|> last.

Usage: bpe_train.py TRAIN_TXT OUT_DIR [VOCAB_SIZE=8192]
       writes OUT_DIR/vocab.json and OUT_DIR/merges.txt, and checks that
       decode(encode(text)) == text on TRAIN_TXT.
"""
import heapq
import json
import os
import sys
from collections import Counter, defaultdict

import regex

PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
EOT = "<|endoftext|>"


def bytes_to_unicode():
    """GPT-2's table: byte -> printable unicode character. Printable latin-1
    bytes map to themselves; the rest are shifted to 256 and up. Returned as an
    ordered dict whose iteration order is GPT-2's id order for the bytes."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


BYTE_ENCODER = bytes_to_unicode()
BYTE_DECODER = {c: b for b, c in BYTE_ENCODER.items()}


def word_counts(text):
    """Counter of pre-tokenized words, each as its bytes_to_unicode string."""
    counts = Counter(PAT.findall(text))
    return Counter({"".join(BYTE_ENCODER[b] for b in w.encode("utf-8")): c for w, c in counts.items()})


def train(text, vocab_size):
    """Learns vocab_size - 256 - 1 merges. Returns the merges, a list of
    (left, right) symbol pairs in rank order."""
    n_merges = vocab_size - 256 - 1
    counts = word_counts(text)
    words = [list(w) for w in counts]          # symbol list of each distinct word
    freqs = [counts[w] for w in counts]        # its count
    pair_counts = defaultdict(int)             # (a, b) -> occurrences over the corpus
    where = defaultdict(set)                   # (a, b) -> indices of words containing it
    for i, syms in enumerate(words):
        for pair in zip(syms, syms[1:]):
            pair_counts[pair] += freqs[i]
            where[pair].add(i)
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)

    merges = []
    while len(merges) < n_merges and heap:
        neg, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg or -neg <= 0:
            continue                           # stale entry; the current count is elsewhere in the heap
        merges.append(pair)
        a, b = pair
        merged = a + b
        touched = set()
        for i in where.pop(pair):
            syms, f = words[i], freqs[i]
            for p in zip(syms, syms[1:]):      # retract this word's old pairs
                pair_counts[p] -= f
                touched.add(p)
            out, j = [], 0
            while j < len(syms):
                if j + 1 < len(syms) and syms[j] == a and syms[j + 1] == b:
                    out.append(merged)
                    j += 2
                else:
                    out.append(syms[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):        # and add the new ones back
                pair_counts[p] += f
                where[p].add(i)
                touched.add(p)
        pair_counts.pop(pair, None)
        for p in touched:
            c = pair_counts.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
            else:
                pair_counts.pop(p, None)
    if len(merges) != n_merges:
        raise ValueError("corpus too small: only %d merges possible" % len(merges))
    return merges


def build_vocab(merges):
    """token string -> id: bytes, then merges in rank order, then <|endoftext|>."""
    vocab = {}
    for c in BYTE_ENCODER.values():
        vocab[c] = len(vocab)
    for a, b in merges:
        if a + b in vocab:
            raise ValueError("merge %r %r duplicates a token" % (a, b))
        vocab[a + b] = len(vocab)
    vocab[EOT] = len(vocab)
    return vocab


def save(out_dir, merges):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(build_vocab(merges), f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write("%s %s\n" % (a, b))


class Tokenizer:
    """GPT-2's encoder.py: encode applies merges by rank within each word."""

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.inv = {i: t for t, i in vocab.items()}
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.cache = {}

    @classmethod
    def load(cls, model_dir):
        with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        with open(os.path.join(model_dir, "merges.txt"), encoding="utf-8") as f:
            lines = f.read().split("\n")
        merges = [tuple(ln.split(" ")) for ln in lines[1:] if ln]
        return cls(vocab, merges)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = list(token)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            a, b = best
            out, j = [], 0
            while j < len(word):
                if j + 1 < len(word) and word[j] == a and word[j + 1] == b:
                    out.append(a + b)
                    j += 2
                else:
                    out.append(word[j])
                    j += 1
            word = out
        self.cache[token] = word
        return word

    def encode(self, text):
        ids = []
        for w in PAT.findall(text):
            sym = "".join(BYTE_ENCODER[b] for b in w.encode("utf-8"))
            ids.extend(self.vocab[t] for t in self.bpe(sym))
        return ids

    def decode(self, ids):
        data = bytes(BYTE_DECODER[c] for i in ids for c in self.inv[i] if i != self.vocab[EOT])
        return data.decode("utf-8", errors="replace")


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write("usage: bpe_train.py TRAIN_TXT OUT_DIR [VOCAB_SIZE]\n")
        return 2
    vocab_size = int(argv[3]) if len(argv) == 4 else 8192
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    merges = train(text, vocab_size)
    save(argv[2], merges)
    tok = Tokenizer.load(argv[2])
    ids = tok.encode(text)
    if tok.decode(ids) != text:
        raise ValueError("round trip decode(encode(text)) != text")
    print("vocab %d (%d merges), %d tokens for %d bytes: %.3f tokens/byte, round trip ok"
          % (len(tok.vocab), len(merges), len(ids), len(text.encode("utf-8")),
             len(ids) / len(text.encode("utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
