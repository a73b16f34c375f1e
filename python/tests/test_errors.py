"""test_errors.py: bad arguments raise before any C call (TypeError,
ValueError), what the library refuses raises LesionError with its one-line
message, and hostile inputs (the CLI tests' broken model files, bad specs,
empty text, ids out of range) never crash the interpreter."""
import os
import shutil

import numpy as np
import pytest

import lesion

from conftest import ROOT

BUNDLED = os.path.join(ROOT, "models", "kjv-gpt2")


def _model_copy(tmp_path, safetensors_bytes=None, name="model"):
    """A model directory: the bundled tokenizer and config, with model.safetensors
    replaced by the given bytes (None: linked to the bundled one)."""
    d = tmp_path / name
    d.mkdir()
    for f in ("config.json", "vocab.json", "merges.txt"):
        shutil.copy(os.path.join(BUNDLED, f), d / f)
    if safetensors_bytes is None:
        os.symlink(os.path.join(BUNDLED, "model.safetensors"), d / "model.safetensors")
    else:
        (d / "model.safetensors").write_bytes(safetensors_bytes)
    return d


def _one_line(e):
    msg = str(e.value)
    assert msg and "\n" not in msg
    return msg


@pytest.mark.parametrize("case, cut, words", [
    ("truncated data", 1 << 20, ["model.safetensors"]),
    ("empty file", 0, ["model.safetensors", "too short"]),
    ("header only", 8, ["model.safetensors"]),
])
def test_broken_safetensors_raise(tmp_path, case, cut, words):
    with open(os.path.join(BUNDLED, "model.safetensors"), "rb") as f:
        head = f.read(cut)
    d = _model_copy(tmp_path, head)
    with pytest.raises(lesion.LesionError) as e:
        lesion.Model(str(d))
    msg = _one_line(e)
    for w in words:
        assert w in msg, (case, msg)


def test_bad_model_directories_raise(tmp_path):
    with pytest.raises(lesion.LesionError) as e:
        lesion.Model(str(tmp_path / "nowhere"))
    assert "nowhere" in _one_line(e)
    d = _model_copy(tmp_path)
    (d / "config.json").write_text('{"model_type": "gpt2", "n_layer": -3}')
    with pytest.raises(lesion.LesionError):
        lesion.Model(str(d))
    (d / "config.json").write_text("not json")
    with pytest.raises(lesion.LesionError):
        lesion.Model(str(d))
    d2 = _model_copy(tmp_path, name="fifo")
    os.remove(d2 / "vocab.json")
    os.mkfifo(d2 / "vocab.json")  # refused at once, never waited on
    with pytest.raises(lesion.LesionError):
        lesion.Model(str(d2))
    with pytest.raises(ValueError):
        lesion.Model(BUNDLED, weights="f64")
    with pytest.raises(TypeError):
        lesion.Model(42)
    with pytest.raises(TypeError):
        lesion.Model(BUNDLED, threads="two")
    with pytest.raises(ValueError):
        lesion.Model(BUNDLED, threads=0)


def test_bad_lesions_raise_and_change_nothing(clean):
    ids = clean.tokenize("And God said")
    base = clean.logits(ids)
    for spec, words in [("attn.q@L99", "L99"), ("attn.x@L0", "attn.x"), ("", None), ("mlp.gate@L0", "mlp.gate"),
                        ("attn.q@L0H12", "H12")]:
        with pytest.raises((lesion.LesionError, ValueError)) as e:
            clean.lesion(spec)
        if words:
            assert words in _one_line(e)
    with pytest.raises(lesion.LesionError) as e:
        clean.lesion(["attn.q@L0", "attn.q@L77"])  # the good one is not applied either
    assert "L77" in _one_line(e)
    with pytest.raises(lesion.LesionError):
        clean.lesion("attn.q@L0", mode="melt")
    with pytest.raises(lesion.LesionError):
        clean.lesion("attn.q@L0", match="layer")
    with pytest.raises(lesion.LesionError):
        clean.lesion("attn.q@L0", rng="mersenne")
    with pytest.raises(TypeError):
        clean.lesion(["attn.q@L0", 3])
    with pytest.raises(TypeError):
        clean.lesion("attn.q@L0", seed=1.5)
    with pytest.raises(ValueError):
        clean.lesion("attn.q@L0", seed=-1)
    with pytest.raises(ValueError):
        clean.lesion("attn.q@L0;attn.k@L0")
    with pytest.raises(ValueError):
        clean.lesion("attn.q@L0\0")
    assert clean.lesions == []
    assert np.array_equal(clean.logits(ids), base)


def test_bad_inputs_raise(clean):
    V, n_ctx = clean.vocab_size, clean.n_ctx
    with pytest.raises(ValueError, match="empty"):
        clean.logits([])
    with pytest.raises(ValueError, match="empty"):
        clean.logits("")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        clean.logits([1, V])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        clean.logits(np.array([-1, 2]))
    with pytest.raises(ValueError, match="context length"):
        clean.logits([1] * (n_ctx + 1))
    with pytest.raises(TypeError):
        clean.logits([1.5, 2])
    with pytest.raises(TypeError):
        clean.logits(np.zeros((2, 2), dtype=np.int32))
    with pytest.raises(TypeError):
        clean.logits(None)
    with pytest.raises(TypeError):
        clean.tokenize(b"bytes")
    with pytest.raises(lesion.LesionError):
        clean.tokenize("\ud800")  # a lone surrogate is not UTF-8: the tokenizer says where
    with pytest.raises(ValueError):
        clean.generate("And", tokens=-1)
    with pytest.raises(ValueError, match="context length"):
        clean.generate("And", tokens=n_ctx)
    with pytest.raises(ValueError):
        clean.generate("And", top_p=0)
    with pytest.raises(ValueError):
        clean.generate("And", temperature=-1)
    with pytest.raises(ValueError, match="empty"):
        clean.generate("")
    with pytest.raises(lesion.LesionError, match="need at least 2"):
        clean.eval(text="")
    with pytest.raises(lesion.LesionError, match="need at least 2"):
        clean.eval(text="And")
    with pytest.raises(ValueError):
        clean.eval(text="a b c", file="x")
    with pytest.raises(ValueError):
        clean.eval(ctx=1)
    with pytest.raises(ValueError):
        clean.eval(ctx=64, stride=64)
    with pytest.raises(lesion.LesionError):
        clean.eval(file="/nonexistent/file.txt")
    with pytest.raises(TypeError):
        clean.detokenize("abc")
    with pytest.raises(ValueError):
        clean.detokenize([V])
    # Text with a NUL is text: it is scored, not cut at the NUL.
    assert clean.eval(text="In the beginning\0God created the heaven")["bytes"] == 39


def test_bad_sites_raise(clean):
    ids = clean.tokenize("And God said")
    base = clean.logits(ids)
    with pytest.raises(lesion.LesionError) as e:
        clean.logits(ids, ablate="resid_post@L40")
    assert "resid_post@L40" in _one_line(e)
    with pytest.raises(lesion.LesionError):
        clean.activations(ids, "attn.nothing@L0")
    with pytest.raises(lesion.LesionError):
        clean.logits(ids, ablate="attn.pattern@L0", ablate_mode="resample", reference="a b c d e f")
    with pytest.raises(ValueError):
        clean.logits(ids, ablate="attn.z@L0", ablate_mode="random")
    with pytest.raises(ValueError):
        clean.logits(ids, patch="resid_post@L0")  # no source
    with pytest.raises(ValueError, match="equal lengths"):
        clean.logits(ids, patch="resid_post@L0", patch_from="And God said unto Moses")
    with pytest.raises(ValueError):
        clean.logits(ids, ablate_mode="mean")  # nothing to ablate
    # A failed call leaves no intervention behind.
    assert np.array_equal(clean.logits(ids), base)


def test_closed_model_raises():
    m = lesion.Model(BUNDLED)
    m.close()
    with pytest.raises(ValueError, match="closed"):
        m.logits([1, 2])
    with pytest.raises(ValueError, match="closed"):
        m.tokenize("x")
    m.close()  # twice is fine
