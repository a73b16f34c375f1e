#!/usr/bin/env python3
"""make_seeds.py: writes the seed corpora in fuzz/corpus/<target>/.

Small, deterministic files: valid examples of each input format and
slightly broken ones, so that libFuzzer starts next to every error path.
Run from anywhere: /usr/bin/python3 fuzz/make_seeds.py (stdlib only). The
files are committed; rerunning rewrites them identically.
"""
import json
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- safetensors: the config of fuzz_safetensors.c (L1 H2 C4 ctx4 V8) --------

L, C, CTX, V = 1, 4, 4, 8
SHAPES = [("wte.weight", [V, C]), ("wpe.weight", [CTX, C]), ("ln_f.weight", [C]), ("ln_f.bias", [C])]
for l in range(L):
    for name, shape in [("ln_1.weight", [C]), ("ln_1.bias", [C]), ("attn.c_attn.weight", [C, 3 * C]),
                        ("attn.c_attn.bias", [3 * C]), ("attn.c_proj.weight", [C, C]), ("attn.c_proj.bias", [C]),
                        ("ln_2.weight", [C]), ("ln_2.bias", [C]), ("mlp.c_fc.weight", [C, 4 * C]),
                        ("mlp.c_fc.bias", [4 * C]), ("mlp.c_proj.weight", [4 * C, C]), ("mlp.c_proj.bias", [C])]:
        SHAPES.append(("h.%d.%s" % (l, name), shape))
ELEM = {"F32": 4, "F16": 2, "BF16": 2, "I32": 4}


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def tensor_bytes(dtype, n, seed):
    rnd = random.Random(seed)
    if dtype == "F32":
        return struct.pack("<%df" % n, *[rnd.uniform(-0.1, 0.1) for _ in range(n)])
    if dtype == "F16":
        return struct.pack("<%de" % n, *[rnd.uniform(-0.1, 0.1) for _ in range(n)])
    if dtype == "BF16":
        return b"".join(struct.pack("<f", rnd.uniform(-0.1, 0.1))[2:] for _ in range(n))
    return struct.pack("<%di" % n, *[rnd.randrange(-5, 5) for _ in range(n)])


def safetensors(entries, metadata=None, header_len=None, pad=True):
    """entries: list of (key, dtype, shape, data bytes, offsets or None)."""
    header, blob, at = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for key, dtype, shape, data, offs in entries:
        if offs is None:
            offs = [at, at + len(data)]
        header[key] = {"dtype": dtype, "shape": shape, "data_offsets": offs}
        blob += data
        at += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    n = len(h) if header_len is None else header_len
    return struct.pack("<Q", n) + h + blob


def model_entries(dtype="F32", prefix="", skip=None, override=None):
    out = []
    for i, (name, shape) in enumerate(SHAPES):
        if name == skip:
            continue
        dt, shp = dtype, shape
        if override and name in override:
            dt, shp = override[name]
        out.append((prefix + name, dt, shp, tensor_bytes(dt, numel(shp), i), None))
    return out


st = "safetensors"
put(st, "valid_f32", safetensors(model_entries()))
put(st, "valid_f16", safetensors(model_entries("F16")))
put(st, "valid_bf16", safetensors(model_entries("BF16")))
e = model_entries(prefix="transformer.")
wte = e[0]
e.append(("lm_head.weight", wte[1], wte[2], wte[3], None))
put(st, "valid_prefixed_tied_head_metadata", safetensors(e, metadata={"format": "pt", "lesion": "{}"}))
e = model_entries()
e.append(("lm_head.weight", "F32", [V, C], tensor_bytes("F32", V * C, 99), None))
put(st, "untied_head", safetensors(e))
e = model_entries()
e.append(("h.1.ln_1.weight", "F32", [C], tensor_bytes("F32", C, 98), None))
put(st, "extra_layer", safetensors(e))
put(st, "missing_tensor", safetensors(model_entries(skip="h.0.mlp.c_fc.bias")))
put(st, "wrong_shape", safetensors(model_entries(override={"h.0.attn.c_attn.weight": ("F32", [3 * C, C])})))
put(st, "dtype_i32", safetensors(model_entries(override={"ln_f.bias": ("I32", [C])})))
put(st, "dtype_unknown", safetensors([("x", "Q7", [2], b"\0\0", None)]))
good = safetensors(model_entries())
put(st, "header_len_too_big", struct.pack("<Q", len(good)) + good[8:])
put(st, "header_len_huge", struct.pack("<Q", 1 << 63) + good[8:])
put(st, "header_not_json", struct.pack("<Q", 8) + b"not json" + b"\0" * 16)
put(st, "header_array", safetensors([]).replace(b"{}", b"[]"))
put(st, "empty_header", struct.pack("<Q", 2) + b"{}")
put(st, "too_short", b"\x02\0\0")
put(st, "truncated", good[: len(good) // 2])
put(st, "offsets_outside", safetensors([("a", "F32", [2], b"\0" * 8, [0, 800])]))
put(st, "offsets_overlap", safetensors([("a", "F32", [2], b"\0" * 8, [0, 8]), ("b", "F32", [2], b"\0" * 8, [4, 12])]))
put(st, "offsets_gap", safetensors([("a", "F32", [1], b"\0" * 4, [0, 4]), ("b", "F32", [1], b"\0" * 8, [8, 12])]))
put(st, "offsets_reversed", safetensors([("a", "F32", [1], b"\0" * 4, [4, 0])]))
put(st, "shape_bytes_differ", safetensors([("a", "F32", [3], b"\0" * 8, None)]))
put(st, "shape_negative", safetensors([("a", "F32", [-2], b"\0" * 8, None)]))
put(st, "shape_overflow", safetensors([("a", "F32", [1 << 40, 1 << 40], b"\0" * 8, None)]))
put(st, "empty_tensor_shared_offset", safetensors([("e", "F32", [0], b"", [0, 0]), ("a", "F32", [2], b"\0" * 8, None)]))
put(st, "duplicate_key", good.replace(b'"ln_f.bias"', b'"ln_f.weight"', 1))

# ---- config.json -------------------------------------------------------------

cfg = {"n_layer": 2, "n_head": 2, "n_embd": 8, "n_positions": 16, "n_ctx": 16, "vocab_size": 300,
       "layer_norm_epsilon": 1e-5, "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}
put("config", "valid", json.dumps(cfg, indent=2))
put("config", "gpt2", json.dumps({"n_layer": 12, "n_head": 12, "n_embd": 768, "n_positions": 1024,
                                  "vocab_size": 50257, "layer_norm_epsilon": 1e-5}))
put("config", "n_ctx_only", '{"n_layer":1,"n_head":1,"n_embd":4,"n_ctx":8,"vocab_size":16}')
put("config", "null_eps", '{"n_layer":1,"n_head":1,"n_embd":4,"n_ctx":8,"vocab_size":16,"layer_norm_epsilon":null}')
put("config", "not_divisible", json.dumps(dict(cfg, n_embd=10, n_head=3)))
put("config", "n_layer_1e9", json.dumps(dict(cfg, n_layer=1000000000)))
put("config", "n_layer_float", '{"n_layer":1.5,"n_head":1,"n_embd":4,"n_ctx":8,"vocab_size":16}')
put("config", "n_head_string", '{"n_layer":1,"n_head":"2","n_embd":4,"n_ctx":8,"vocab_size":16}')
put("config", "negative", '{"n_layer":-1,"n_head":1,"n_embd":4,"n_ctx":8,"vocab_size":16}')
put("config", "huge", '{"n_layer":1e300,"n_head":1,"n_embd":4,"n_ctx":8,"vocab_size":16}')
put("config", "eps_string", json.dumps(dict(cfg, layer_norm_epsilon="1e-5")))
put("config", "eps_zero", json.dumps(dict(cfg, layer_norm_epsilon=0)))
put("config", "missing_vocab", '{"n_layer":1,"n_head":1,"n_embd":4,"n_ctx":8}')
put("config", "not_json", "n_layer = 12\n")
put("config", "array", "[1, 2, 3]")
put("config", "empty", "")
put("config", "truncated", json.dumps(cfg)[:40])

# ---- tokenizer: vocab.json NUL merges.txt --------------------------------------


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()


def spell(b):
    return "".join(B2U[x] for x in b)


def tokenizer(merges_bytes, specials=("<|endoftext|>",)):
    vocab = {spell(bytes([b])): b for b in range(256)}
    lines = ["#version: 0.2"]
    for a, b in merges_bytes:
        vocab.setdefault(spell(a + b), len(vocab))
        lines.append(spell(a) + " " + spell(b))
    for s in specials:
        vocab[s] = len(vocab)
    return vocab, lines


MERGES = [(b"t", b"h"), (b"th", b"e"), (b" ", b"the"), (b"a", b"n"), (b"an", b"d"), (b" ", b"and"), (b"i", b"n"),
          (b" ", b"in"), (b"e", b"r"), (b"o", b"u"), (b" ", b"G"), (b" G", b"o"), (b" Go", b"d"), (b"\n", b"\n")]


def tok_input(vocab, lines, trailing="\n"):
    return json.dumps(vocab, ensure_ascii=False).encode() + b"\0" + ("\n".join(lines) + trailing).encode()


tl = "tokenizer_load"
v, m = tokenizer(MERGES)
put(tl, "valid", tok_input(v, m))
put(tl, "valid_no_version_crlf", json.dumps(v, ensure_ascii=False).encode() + b"\0" + "\r\n".join(m[1:]).encode())
put(tl, "valid_bytes_only", tok_input(tokenizer([], ())[0], ["#version: 0.2"]))
put(tl, "merge_not_in_vocab", tok_input(v, m + [spell(b"zz") + " " + spell(b"q")]))
put(tl, "merge_result_missing", tok_input(v, m + [spell(b"q") + " " + spell(b"q")]))
put(tl, "empty_merges", json.dumps(v, ensure_ascii=False).encode() + b"\0")
put(tl, "merge_three_parts", tok_input(v, m + ["a b c"]))
put(tl, "merge_nul", tok_input(v, m + ["a\0 b"]))
put(tl, "empty_line_inside", tok_input(v, m[:3] + [""] + m[3:]))
vv = dict(v)
vv[spell(b"the")] = 0
put(tl, "duplicate_id", tok_input(vv, m))
vv = dict(v)
del vv[spell(b"q")]
put(tl, "missing_byte", tok_input(vv, m))
vv = dict(v)
vv["zz"] = 10 ** 7
put(tl, "id_out_of_range", tok_input(vv, m))
vv = dict(v)
vv["\u4e00"] = len(vv)
put(tl, "not_in_alphabet", tok_input(vv, m))
vv = dict(v)
vv[spell(b"xyz")] = len(vv)
put(tl, "orphan_token", tok_input(vv, m))
put(tl, "vocab_array", b"[1,2]\0")
put(tl, "vocab_not_json", b"{\"a\": 1,\0a b\n")
put(tl, "vocab_empty_object", b"{}\0")

# ---- tokenizer_encode: text ----------------------------------------------------------

te = "tokenizer_encode"
put(te, "verse", "In the beginning God created the heaven and the earth.\n")
put(te, "contractions", "He's 'll 've 're it'd I'm don't DON'T\n")
put(te, "numbers", "Genesis 1:1-31, 3.14159, 1611 AD, 007 \u0661\u0662\u0663")
put(te, "whitespace", "a  b   c\t\td\n\n\n e \u00a0\u3000f \r\n  ")
put(te, "unicode", "caf\u00e9 na\u00efve \u00fcber \u4e2d\u6587 \u0928\u092e\u0938\u094d\u0924\u0947 \U0001F600\U0001F468\u200d\U0001F469")
put(te, "endoftext", "first<|endoftext|>second <|endoftext|><|endoftext|> <|endoftext|")
put(te, "nul_bytes", b"a\0b\0\0 c")
put(te, "invalid_continuation", b"abc\xc3(def")
put(te, "invalid_overlong", b"x\xc0\xafy")
put(te, "invalid_surrogate", b"x\xed\xa0\x80y")
put(te, "invalid_truncated", b"emoji \xf0\x9f\x98")
put(te, "invalid_above_max", b"\xf4\x90\x80\x80")
put(te, "empty", b"")
put(te, "long_word", "a" * 300 + "\u00e9" * 50)

# ---- tokenizer_json: tokenizer.json ---------------------------------------------------

tj = "tokenizer_json"
BL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
LLAMA3 = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
          "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")


def added(i, content, **kw):
    d = dict(id=i, content=content, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
    d.update(kw)
    return d


def tj_byte_level(pre=BL, normalizer=None, added_tokens=(), merges_as_arrays=False, **model):
    vocab, lines = tokenizer(MERGES, ())
    merges = [l.split(" ") for l in lines[1:]]
    n = len(vocab)
    toks = [added(n + i, s) if isinstance(s, str) else s for i, s in enumerate(added_tokens)]
    m = dict(type="BPE", dropout=None, unk_token=None, continuing_subword_prefix=None, end_of_word_suffix=None,
             fuse_unk=False, byte_fallback=False, ignore_merges=False, vocab=vocab,
             merges=merges if merges_as_arrays else [" ".join(x) for x in merges])
    m.update(model)
    return dict(version="1.0", truncation=None, padding=None, added_tokens=toks, normalizer=normalizer,
                pre_tokenizer=pre, post_processor=None, decoder=dict(BL), model=m)


SP_DEC = {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                           {"type": "ByteFallback"}, {"type": "Fuse"},
                                           {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}


def tj_sentencepiece(normalizer, pre, **model):
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for piece in ["\u2581", "t", "h", "e", "a", "n", "d", "\u2581t", "\u2581th", "\u2581the", "an", "\u2581and"]:
        vocab[piece] = len(vocab)
    merges = ["\u2581 t", "\u2581t h", "\u2581th e", "a n", "\u2581 an", "an d"]
    vocab["\u2581an"] = len(vocab)
    m = dict(type="BPE", dropout=None, unk_token="<unk>", continuing_subword_prefix=None, end_of_word_suffix=None,
             fuse_unk=True, byte_fallback=True, ignore_merges=False, vocab=vocab, merges=merges)
    m.update(model)
    template = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    return dict(version="1.0", added_tokens=[added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")],
                normalizer=normalizer, pre_tokenizer=pre, post_processor=template, decoder=SP_DEC, model=m)


def put_json(name, obj):
    put(tj, name, json.dumps(obj, ensure_ascii=False))


put_json("gpt2_like", tj_byte_level(added_tokens=["<|endoftext|>"]))
put_json("llama3_like", tj_byte_level(
    pre={"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3}, "behavior": "Isolated", "invert": False},
        dict(BL, use_regex=False)]},
    added_tokens=["<|begin_of_text|>", "<|eot_id|>"], merges_as_arrays=True, ignore_merges=True))
put_json("qwen2_like", tj_byte_level(normalizer={"type": "NFC"}, added_tokens=["<|im_start|>", "<|im_end|>"],
                                     pre={"type": "Sequence", "pretokenizers": [
                                         {"type": "Split", "pattern": {"Regex": LLAMA3.replace("{1,3}", "")},
                                          "behavior": "Isolated", "invert": False}, dict(BL, use_regex=False)]}))
put_json("smollm_like", tj_byte_level(pre={"type": "Sequence", "pretokenizers": [
    {"type": "Digits", "individual_digits": True}, BL]}))
put_json("added_flags", tj_byte_level(
    pre=dict(BL, add_prefix_space=True),
    normalizer={"type": "Sequence", "normalizers": [{"type": "NFC"},
                                                    {"type": "Replace", "pattern": {"String": "\u2019"}, "content": "'"}]},
    added_tokens=[added(300, "<|end|>", rstrip=True), added(301, "<mask>", lstrip=True),
                  added(302, "God", single_word=True, special=False), added(303, "don\u2019t", normalized=True)]))
put_json("split_behaviors", tj_byte_level(pre={"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"String": ", "}, "behavior": "MergedWithPrevious", "invert": False},
    {"type": "Split", "pattern": {"Regex": "\\p{Lu}"}, "behavior": "MergedWithNext", "invert": False},
    {"type": "Split", "pattern": {"Regex": "\\d"}, "behavior": "Contiguous", "invert": False},
    {"type": "Split", "pattern": {"Regex": "x*"}, "behavior": "Removed", "invert": False},
    {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated", "invert": True},
    dict(BL, use_regex=False)]}))
put_json("llama2_like", tj_sentencepiece(
    {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                         {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}, None))
put_json("metaspace_like", tj_sentencepiece(None, {"type": "Metaspace", "replacement": "\u2581",
                                                   "prepend_scheme": "first", "split": True}))
put_json("sp_unk", tj_sentencepiece(None, {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True},
                                    byte_fallback=False, fuse_unk=False))
broken = tj_byte_level()
broken["model"]["type"] = "WordPiece"
put_json("wordpiece", broken)
broken = tj_byte_level(normalizer={"type": "NFKC"})
put_json("nfkc", broken)
broken = tj_byte_level(pre={"type": "Split", "pattern": {"Regex": "\\bx[a[b]]"}, "behavior": "Isolated", "invert": False})
put_json("bad_regex", broken)
broken = tj_byte_level(added_tokens=[added(5, "<x>")])
put_json("added_id_mismatch", broken)
broken = tj_byte_level()
broken["model"]["merges"].append("zz q")
put_json("merge_not_in_vocab", broken)
broken = tj_byte_level()
broken["model"]["vocab"]["hole"] = 100000
put(tj, "holes", json.dumps(broken, ensure_ascii=False).replace('"hole"', '"\u0127\u014f\u013e\u0117"'))
put(tj, "truncated", json.dumps(tj_byte_level())[:300])
put(tj, "not_object", "[1, 2, 3]")
put(tj, "empty", "")

# ---- lesion_spec: flags byte, spec NUL mode NUL match NUL rng ------------------------


def spec(flags, *parts):
    return bytes([flags]) + b"\0".join(p.encode() for p in parts)


ls = "lesion_spec"
for i, (f, parts) in enumerate([
    (0, ["attn.q@L0"]), (0, ["attn.k@L0-2"]), (1, ["attn.v@L0,2H1,3", "gauss", "head"]), (0, ["attn.q@all"]),
    (1, ["attn.o@L1H0-3", "zero", "tensor"]), (0, ["mlp.fc@L2D3-7,20-31", "mean"]), (1, ["mlp.proj@L0D1", "shuffle"]),
    (0, ["ln1@L1", "scale:0.5"]), (1, ["ln2@allD0-3", "uniform"]), (0, ["lnf@D2"]), (0, ["wte@D0-7"]), (0, ["wpe"]),
    (2, ["attn.q@L0H1", "gauss", "tensor", "torch"]), (4, ["attn.k@L1-2", "gauss", "head", "torch-avx512:4"]),
    (6, ["attn.q@L0H0,2", "gauss", "tensor", "torch-scalar"]), (0, ["attn.q@L0H0,2", "shuffle", "tensor", "torch"]),
    (0, ["attn.q@L99"]), (0, ["attn.q@L0H99"]), (0, ["mlp.fc@L0H1"]), (0, ["attn.q@L0D1"]), (0, ["attn.x@L0"]),
    (0, ["attn.q"]), (0, ["lnf@L0"]), (0, ["attn.q@L2-1"]), (0, ["attn.q@L0,0"]), (0, ["attn.q@L0,", "scale:"]),
    (0, ["attn.q@L0", "scale:nan"]), (0, ["attn.q@L0", "gauss", "both"]), (0, ["attn.q@L0", "gauss", "tensor", "torch:0"]),
    (0, ["attn.q@L" + ",".join(str(i % 3) for i in range(130))]), (0, ["attn.q@L99999999999"]), (0, ["wte@D0-7H1"]),
    (0, ["attn.q@L0\nH1"]), (0, [""]),
]):
    put(ls, "spec%02d" % i, spec(f, *parts))

# ---- store: results.jsonl as a crash may leave it -------------------------------------


def result_row(k, extra=""):
    return '{"key":"%s","config":1,"seed_index":0,"kl":0.25%s,"samples":["And God said \\u00e9"]}\n' % (k, extra)


for name, text in {
    "empty": "",
    "three_rows": result_row("c0-s0") + result_row("c1-s0") + result_row("c1-s1"),
    "torn_no_newline": result_row("c0-s0") + result_row("c1-s0")[:-1],
    "torn_half": result_row("c0-s0") + result_row("c1-s0")[:30],
    "torn_half_newline": result_row("c0-s0") + result_row("c1-s0")[:30] + "\n",
    "no_key": result_row("c0-s0") + '{"config":1}\n' + result_row("c1-s0"),
    "key_not_string": '{"key":5}\n',
    "duplicate_keys": result_row("a") + result_row("b") + result_row("a", ',"x":2'),
    "empty_line": result_row("a") + "\n" + result_row("b"),
    "array_line": "[1,2]\n",
    "nul_in_line": result_row("a") + '{"key":"b"}\x00junk\n',
    "crlf": result_row("a").replace("\n", "\r\n") + result_row("b"),
}.items():
    put("store", name, text)

# ---- sweep_rows: flags byte, then rows of results.jsonl ------------------------------------

rnd = random.Random(1)


def sweep_row(c, s, **kw):
    r = {"key": "c%d-s%d" % (c, s), "config": c, "label": "L%d" % c, "spec": "attn.q@L%d" % c, "seed_index": s,
         "lesion_seed": s, "cross_entropy": 3 + c * 0.8 + rnd.random() * 0.1, "perplexity": 20.0 * (c + 1),
         "kl": 0.3 * c, "top1": 1 - 0.2 * c, "gen_ppl": 10.0 + c, "rep4": 0.1 * c, "distinct2": 0.9 - 0.1 * c,
         "first_layer": 0, "secs": 0.01, "samples": ["And God said <b>&amp;</b>", "In the beginning \u00e9"]}
    r.update(kw)
    return json.dumps(r)


full = [sweep_row(0, 0)] + [sweep_row(c, s) for c in range(1, 4) for s in range(3)]
for name, data in {
    "full_ordered": bytes([1 | (2 << 2)]) + "\n".join(full).encode(),
    "full_heads": bytes([2 | (2 << 2)]) + "\n".join(full).encode(),
    "missing_rows": bytes([1 | (2 << 2)]) + "\n".join(full[:4]).encode(),
    "no_config": bytes([1]) + "\n".join([sweep_row(0, 0), '{"key":"x","seed_index":0}']).encode(),
    "config_nan_huge": bytes([1]) + "\n".join([sweep_row(0, 0), sweep_row(1, 0, config=1e300),
                                               sweep_row(2, 0, config=-1), sweep_row(3, 0, config=1.5)]).encode(),
    "strings": bytes([1]) + "\n".join([sweep_row(0, 0, perplexity="x", samples="no"),
                                       sweep_row(1, 0, samples=[1, None])]).encode(),
    "empty": bytes([0]),
    "only_clean": bytes([1]) + sweep_row(0, 0).encode(),
    "infinite": bytes([1]) + "\n".join([sweep_row(0, 0), sweep_row(1, 0, perplexity=1e308, cross_entropy=1e308)]).encode(),
}.items():
    put("sweep_rows", name, data)

print("seeds written to", OUT)
