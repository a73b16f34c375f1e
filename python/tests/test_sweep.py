"""test_sweep.py: lesion.sweep runs the library's sweep: the same rows as
`lesion sweep` (all but the timing field "secs"), also with sweep-wide
ablations and probes, the CLI's folder rules,
and a KeyboardInterrupt that keeps every finished row and resumes."""
import json
import os
import signal
import sys

import pytest

import lesion

from conftest import ROOT

MODEL = os.path.join(ROOT, "models", "kjv-gpt2")
TINY = dict(layers="0-1", seeds=2, eval_tokens=256, ctx=64, gen_tokens=4)  # 5 rows
TINY_CLI = ["--layers", "0-1", "--seeds", "2", "--eval-tokens", "256", "--ctx", "64", "--gen-tokens", "4"]


@pytest.fixture()
def prompts(tmp_path):
    p = tmp_path / "prompts.txt"
    p.write_text("In the beginning\nAnd the LORD spake\n")
    return str(p)


def _rows(out):
    with open(os.path.join(out, "results.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    for r in rows:
        del r["secs"]
    return sorted(rows, key=lambda r: (r["config"], r["seed_index"]))


def test_sweep_rows_equal_to_cli(cli, tmp_path, prompts):
    summary = lesion.sweep(out=str(tmp_path / "py"), model=MODEL, prompts=prompts, progress=False, **TINY)
    cli.run("sweep", "--model", MODEL, "--prompts", prompts, "--out", tmp_path / "cli", "--quiet", *TINY_CLI)
    assert _rows(tmp_path / "py") == _rows(tmp_path / "cli")
    assert len(_rows(tmp_path / "py")) == 5 and summary["partial"] is False
    with open(tmp_path / "cli" / "summary.json") as f:
        want = json.load(f)
    for key in ("configs", "transition", "rows_present", "seeds", "eval_tokens"):
        assert summary[key] == want[key], key
    # The same sweep again resumes: nothing to run, the same summary.
    calls = []
    again = lesion.sweep(out=str(tmp_path / "py"), model=MODEL, prompts=prompts, progress=lambda *a: calls.append(a),
                         **TINY)
    assert calls == [] and again["configs"] == summary["configs"]
    # Another sweep into that folder is refused, as by the CLI.
    with pytest.raises(lesion.LesionError, match="sweep"):
        lesion.sweep(out=str(tmp_path / "py"), model=MODEL, prompts=prompts, progress=False,
                     **dict(TINY, seeds=3))


def test_sweep_ablate_and_probe_equal_to_cli(cli, tmp_path, prompts):
    extra = dict(ablate=["attn.z@L1H2"], ablate_mode="mean", probe="prev-token", probe_tokens=1024, probe_top=4)
    summary = lesion.sweep(out=str(tmp_path / "py"), model=MODEL, prompts=prompts, progress=False,
                           **dict(TINY, layers=[0], seeds=1), **extra)
    cli.run("sweep", "--model", MODEL, "--prompts", prompts, "--out", tmp_path / "cli", "--quiet", "--layers", "0",
            "--seeds", "1", "--eval-tokens", "256", "--ctx", "64", "--gen-tokens", "4", "--ablate", "attn.z@L1H2",
            "--ablate-mode", "mean", "--probe", "prev-token", "--probe-tokens", "1024", "--probe-top", "4")
    assert _rows(tmp_path / "py") == _rows(tmp_path / "cli")
    assert summary["baseline"].startswith("clean + ablate-mean:attn.z@L1H2")
    assert len(summary["configs"][0]["probe"]["center"]) == 13
    with pytest.raises(TypeError):
        lesion.sweep(out=str(tmp_path / "bad"), model=MODEL, progress=False, probe_top="4")


def test_read_results(tmp_path, prompts, monkeypatch):
    out = str(tmp_path / "sw")
    lesion.sweep(out=out, model=MODEL, prompts=prompts, progress=False, **dict(TINY, layers=[0], seeds=1))
    df = lesion.read_results(out)
    assert list(df["key"]) == ["c0-s0", "c1-s0"] and list(df["label"]) == ["clean", "L0"]
    assert df["perplexity"].iloc[1] > 0
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
    rows = lesion.read_results(out)
    assert isinstance(rows, list) and [r["key"] for r in rows] == ["c0-s0", "c1-s0"]
    with pytest.raises(lesion.LesionError):
        lesion.read_results(str(tmp_path / "nothing"))


@pytest.fixture
def sigint_default():
    """SIGINT as in an interactive session, whatever the test runner inherited
    (a shell's background job starts with SIGINT ignored)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_keeps_finished_rows_and_resumes(cli, tmp_path, prompts, sigint_default):
    out = str(tmp_path / "sw")
    seen = []

    def interrupt_after_first(done, total, label):  # as if Ctrl-C were pressed during row 2
        seen.append(done)
        if len(seen) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        lesion.sweep(out=out, model=MODEL, prompts=prompts, progress=interrupt_after_first, **TINY)
    kept = _rows(out)
    assert 1 <= len(kept) < 5
    with open(os.path.join(out, "summary.json")) as f:
        assert json.load(f)["partial"] is True
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    lesion.sweep(out=out, model=MODEL, prompts=prompts, progress=False, **TINY)
    rows = _rows(out)
    assert len(rows) == 5 and rows[:len(kept)] == kept
    cli.run("sweep", "--model", MODEL, "--prompts", prompts, "--out", tmp_path / "cli", "--quiet", *TINY_CLI)
    assert rows == _rows(tmp_path / "cli")


def test_ignored_sigint_stays_ignored(tmp_path, prompts):
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        out = str(tmp_path / "sw")
        s = lesion.sweep(out=out, model=MODEL, prompts=prompts,
                         progress=lambda done, total, label: os.kill(os.getpid(), signal.SIGINT), **TINY)
        assert len(_rows(out)) == 5 and s["partial"] is False  # never interrupted
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_sweep_bad_options_raise(tmp_path):
    out = str(tmp_path / "sw")
    with pytest.raises(lesion.LesionError, match="attn.x"):
        lesion.sweep(out=out, model=MODEL, target="attn.x", progress=False, **TINY)
    with pytest.raises(lesion.LesionError):
        lesion.sweep(out=out, model=MODEL, plan="sideways", progress=False, **TINY)
    with pytest.raises(ValueError):
        lesion.sweep(out=out, model=MODEL, seeds=0, progress=False)
    with pytest.raises(TypeError):
        lesion.sweep(out=out, model=MODEL, seeds="5", progress=False)
    with pytest.raises(ValueError):
        lesion.sweep(out=out, model=MODEL, shard="3/2", progress=False)
    with pytest.raises(TypeError):
        lesion.sweep(out=out, model=MODEL, layers=[0.5], progress=False)
    assert not os.path.exists(os.path.join(out, "results.jsonl"))
