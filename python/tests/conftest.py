"""conftest.py: fixtures shared by the binding's tests: the bundled model
opened once, and the CLI of the same build to compare against."""
import json
import os
import subprocess

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _cli_path():
    path = os.environ.get("LESION") or os.path.join(os.environ.get("BUILD", "build"), "lesion")
    return path if os.path.isabs(path) else os.path.join(ROOT, path)


class Cli:
    """Runs the lesion CLI of this build on the bundled model."""

    def __init__(self, path):
        self.path = path

    def run(self, *args):
        p = subprocess.run([self.path, *map(str, args)], capture_output=True, text=True, cwd=ROOT)
        if p.returncode != 0:
            raise AssertionError("lesion %s failed (%d): %s" % (" ".join(map(str, args)), p.returncode, p.stderr))
        return p.stdout

    def json(self, *args):
        return json.loads(self.run(*args, "--json"))

    def logits(self, tmp_path, ids, *args):
        out = tmp_path / ("logits-%d.npy" % len(list(tmp_path.iterdir())))
        self.run("logits", "--ids", ",".join(map(str, ids)), "--out", out, *args)
        return np.load(out)


@pytest.fixture(scope="session")
def cli():
    path = _cli_path()
    if not os.access(path, os.X_OK):
        pytest.skip("the CLI %s is not built" % path)
    return Cli(path)


@pytest.fixture(scope="session")
def model():
    import lesion
    if not os.path.isfile(os.path.join(ROOT, "models", "kjv-gpt2", "model.safetensors")):
        pytest.skip("the bundled model is absent")
    m = lesion.Model(os.path.join(ROOT, "models", "kjv-gpt2"))
    yield m
    m.close()


@pytest.fixture()
def clean(model):
    """The shared model, with no lesion before and after the test."""
    model.reset()
    yield model
    model.reset()
