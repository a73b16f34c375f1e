"""test_model.py: lesion.Model gives the CLI's numbers, bit for bit, and
restores clean weights exactly.

Each test runs the same request through Python and through the CLI of the
same build (conftest.Cli) and compares: logits bitwise (np.array_equal on
float32, no tolerance), generations by ids, eval by every JSON value."""
import numpy as np
import pytest

import lesion

PROMPT = "And God said unto Moses"
LESION = ["--lesion", "attn.q@L0-3", "--lesion-seed", "7"]


def test_logits_clean_bitwise_equal_to_cli(clean, cli, tmp_path):
    ids = clean.tokenize(PROMPT)
    got = clean.logits(ids)
    assert got.dtype == np.float32 and got.shape == (len(ids), clean.vocab_size)
    assert np.array_equal(got, cli.logits(tmp_path, ids))
    # A str is tokenized as the model's input: the same call.
    assert np.array_equal(clean.logits(PROMPT), got)
    assert np.array_equal(clean.logits(np.array(ids, dtype=np.int64)), got)


def test_logits_lesioned_bitwise_equal_to_cli(clean, cli, tmp_path):
    ids = clean.tokenize(PROMPT)
    base = clean.logits(ids)
    clean.lesion("attn.q@L0-3", seed=7)
    got = clean.logits(ids)
    assert not np.array_equal(got, base)  # the lesion did something
    assert np.array_equal(got, cli.logits(tmp_path, ids, *LESION))
    # Lesions compose as repeated --lesion flags do (same options for both).
    clean.lesion("mlp.fc@L5D0-63", seed=7)
    assert np.array_equal(clean.logits(ids),
                          cli.logits(tmp_path, ids, *LESION, "--lesion", "mlp.fc@L5D0-63"))
    clean.reset()
    clean.lesion(["attn.o@L2H1,3", "ln2@L4"], mode="zero")
    assert np.array_equal(clean.logits(ids), cli.logits(tmp_path, ids, "--lesion", "attn.o@L2H1,3", "--lesion",
                                                        "ln2@L4", "--mode", "zero"))
    clean.reset()
    clean.lesion("attn.k@L1", mode="gauss", match="head", with_bias=True, seed=3, rng="torch")
    assert np.array_equal(clean.logits(ids), cli.logits(tmp_path, ids, "--lesion", "attn.k@L1", "--match", "head",
                                                        "--with-bias", "--lesion-seed", "3", "--rng", "torch"))


def test_reset_restores_clean_bitwise(clean):
    ids = clean.tokenize(PROMPT)
    base = clean.logits(ids)
    clean.lesion("attn.q@all", seed=1).lesion("wte@D0-100", mode="shuffle")
    assert not np.array_equal(clean.logits(ids), base)
    assert len(clean.lesion_stats()) > 0
    clean.reset()
    assert np.array_equal(clean.logits(ids), base)
    assert clean.lesions == [] and clean.lesion_stats() == []


def test_lesioned_context_resets_even_on_exception(clean):
    ids = clean.tokenize(PROMPT)
    base = clean.logits(ids)
    with clean.lesioned("attn.q@L0-5", seed=2):
        inside = clean.logits(ids)
    assert not np.array_equal(inside, base)
    assert np.array_equal(clean.logits(ids), base)
    with pytest.raises(RuntimeError, match="boom"):
        with clean.lesioned("attn.q@L0-5", seed=2):
            assert np.array_equal(clean.logits(ids), inside)
            raise RuntimeError("boom")
    assert np.array_equal(clean.logits(ids), base)
    # Lesions applied before the block are in force again after it, bitwise.
    clean.lesion("mlp.proj@L3", seed=4)
    before = clean.logits(ids)
    with clean.lesioned("attn.v@L7", mode="zero"):
        assert not np.array_equal(clean.logits(ids), before)
    assert np.array_equal(clean.logits(ids), before)
    # A bad spec in the block's lesion raises before the block, changing nothing.
    with pytest.raises(lesion.LesionError):
        with clean.lesioned("attn.q@L99"):
            pass
    assert np.array_equal(clean.logits(ids), before)


def test_generate_equal_to_cli(clean, cli):
    for args in [dict(tokens=24), dict(tokens=30, temperature=0.9, top_k=40, top_p=0.95, seed=5)]:
        want = cli.json("generate", "--prompt", PROMPT, "--tokens", args["tokens"],
                        "--temperature", args.get("temperature", 0), "--top-k", args.get("top_k", 0),
                        "--top-p", args.get("top_p", 1), "--seed", args.get("seed", 0))
        assert clean.generate_ids(PROMPT, **args) == want["ids"]
        assert clean.generate(PROMPT, **args) == want["text"]
    with clean.lesioned("attn.q@L0-3", seed=7):
        want = cli.json("generate", "--prompt", PROMPT, "--tokens", 20, *LESION)
        assert clean.generate_ids(PROMPT, tokens=20) == want["ids"]
    assert clean.generate(PROMPT, tokens=0) == ""


def test_eval_equal_to_cli(clean, cli, tmp_path):
    want = cli.json("eval", "--max-tokens", 700, "--ctx", 64, "--stride", 48)
    got = clean.eval(max_tokens=700, ctx=64, stride=48)
    assert got == want
    f = tmp_path / "psalm.txt"
    f.write_text("The LORD is my shepherd; I shall not want.\nHe maketh me to lie down in green pastures.\n" * 8)
    want = cli.json("eval", "--file", f, "--ctx", 64, *LESION)
    with clean.lesioned("attn.q@L0-3", seed=7):
        assert clean.eval(file=str(f), ctx=64) == want
        text = clean.eval(text=f.read_text(), ctx=64)
    assert text == dict(want, file=None)
    assert set(clean.eval(max_tokens=300, ctx=64)) == set(want)


def test_interventions_equal_to_cli(clean, cli, tmp_path):
    ids = clean.tokenize(PROMPT)
    src = "And Aaron said unto Moses"
    assert len(clean.tokenize(src)) == len(ids)
    base = clean.logits(ids)
    got = clean.logits(ids, ablate="attn.z@L1H2")
    assert not np.array_equal(got, base)
    assert np.array_equal(got, cli.logits(tmp_path, ids, "--ablate", "attn.z@L1H2"))
    got = clean.logits(ids, patch=["resid_post@L3P2"], patch_from=src)
    assert np.array_equal(got, cli.logits(tmp_path, ids, "--patch", "resid_post@L3P2", "--from-prompt", src))
    ref = tmp_path / "reference.txt"
    ref.write_text("Blessed are the meek: for they shall inherit the earth.\n" * 20)
    got = clean.logits(ids, ablate=["mlp.out@L2", "attn.z@L4H0"], ablate_mode="mean", reference=ref.read_text())
    assert np.array_equal(got, cli.logits(tmp_path, ids, "--ablate", "mlp.out@L2", "--ablate", "attn.z@L4H0",
                                          "--ablate-mode", "mean", "--reference", ref))
    got = clean.logits(ids, ablate="resid_pre@L6P1-3", ablate_mode="resample", ablate_seed=9,
                       reference=ref.read_text())
    assert np.array_equal(got, cli.logits(tmp_path, ids, "--ablate", "resid_pre@L6P1-3", "--ablate-mode",
                                          "resample", "--ablate-seed", 9, "--reference", ref))
    # The interventions hold for one call only.
    assert np.array_equal(clean.logits(ids), base)
    want = cli.json("generate", "--prompt", PROMPT, "--tokens", 12, "--ablate", "attn.z@L0")
    assert clean.generate_ids(PROMPT, tokens=12, ablate="attn.z@L0") == want["ids"]


def test_activations_equal_to_cli(clean, cli, tmp_path):
    ids = clean.tokenize(PROMPT)
    sites = ["resid_post@L0,5", "attn.pattern@L1H0-3", "attn.z@L2H1", "mlp.post@L3P1-2", "lnf.out", "logits"]
    out = tmp_path / "acts"
    cli.run("activations", "--ids", ",".join(map(str, ids)), "--out", out, *[a for s in sites for a in ("--site", s)],
            *LESION)
    with clean.lesioned("attn.q@L0-3", seed=7):
        got = clean.activations(ids, sites)
    files = sorted(p.name[:-4] for p in out.iterdir())
    assert sorted(got) == files
    for name in files:
        want = np.load(out / (name + ".npy"))
        assert got[name].dtype == np.float32 and got[name].shape == want.shape, name
        assert np.array_equal(got[name], want), name
    assert got["attn.pattern@L1"].shape == (4, len(ids), len(ids))


def test_tokenize_detokenize(clean, cli):
    text = "In the beginning God created the heaven and the earth."
    ids = clean.tokenize(text)
    assert clean.detokenize(ids) == text
    assert clean.tokenize("") == []
    assert clean.detokenize([]) == ""
    assert clean.config["n_layer"] == 12 and clean.config["model_type"] == "gpt2"
    assert clean.config["vocab_size"] == clean.vocab_size == 8192


def test_threads_share_a_model(clean):
    """ctypes releases the GIL in C; the model's lock makes threads take turns,
    so concurrent calls give the sequential results."""
    import threading
    ids = clean.tokenize(PROMPT)
    want = clean.logits(ids)
    got, errors = [], []

    def work():
        try:
            for _ in range(5):
                got.append(clean.logits(ids))
                clean.generate_ids(PROMPT, tokens=3)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(got) == 15
    assert all(np.array_equal(g, want) for g in got)
