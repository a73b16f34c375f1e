"""lesion: causal lesion experiments on transformer language models, from Python.

A thin layer over liblesion (ctypes, numpy arrays in and out); the numbers
are the C library's, bitwise the CLI's::

    import lesion
    m = lesion.Model()                        # the bundled kjv-gpt2
    clean = m.logits("And God said")          # float32 (T, V)
    with m.lesioned("attn.q@L0-3", seed=1):   # restored after the block
        print(m.generate("And God said", tokens=20), m.eval(max_tokens=2048)["perplexity"])
"""
from ._lib import version as __version__  # the loaded liblesion's LS_VERSION
from .model import LesionError, Model, bundled_model_dir
from .sweep import read_results, sweep

__all__ = ["Model", "LesionError", "bundled_model_dir", "sweep", "read_results", "__version__"]
