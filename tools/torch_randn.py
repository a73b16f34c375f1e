#!/usr/bin/python3
"""torch_randn: what PyTorch computes for a `--rng torch` gauss lesion.

For one slice of shape (rows, cols) it prints and writes

    torch.manual_seed(seed)
    out = torch.randn(rows, cols) * s.std() + s.mean()      # float32

where s is the slice (--in: raw little-endian float32, row-major) or, with
--mean/--std instead, fixed float32 statistics; with neither, plain
torch.randn(rows, cols). The output is raw float32 (--out). It prints one
line: "mean XXXXXXXX std XXXXXXXX", the float32 bit patterns of the
statistics used ("0 0" for plain randn).

    torch_randn.py --seed S --rows R --cols C [--in X.f32 | --mean M --std SD]
                   [--threads T] --out OUT.f32
    torch_randn.py --batch FILE     one argument list per line, one torch start

--threads sets torch.set_num_threads (default 1): torch's mean and std of
32768 or more elements depend on it. torch's CPU kernels are chosen by the
environment: ATEN_CPU_CAPABILITY=default (portable), avx2 (the default on
x86-64) or avx512 (`--rng torch-scalar`, `torch`, `torch-avx512`).
"""
import argparse
import shlex
import struct
import sys

import numpy as np
import torch


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--cols", type=int, required=True)
    p.add_argument("--in", dest="inp")
    p.add_argument("--mean", type=float)
    p.add_argument("--std", type=float)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True)
    return p.parse_args(argv)


def bits(x):
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


def run(a):
    torch.set_num_threads(a.threads)
    shape = (a.rows, a.cols)
    if a.inp:
        s = torch.from_numpy(np.fromfile(a.inp, dtype="<f4").reshape(shape).copy())
        mean, std = s.mean(), s.std()
    elif a.mean is not None and a.std is not None:
        mean, std = torch.tensor(a.mean, dtype=torch.float32), torch.tensor(a.std, dtype=torch.float32)
    else:
        mean = std = None
    torch.manual_seed(a.seed)
    out = torch.randn(shape)
    if mean is not None:
        out = out * std + mean
    out.numpy().astype("<f4").tofile(a.out)
    m = bits(mean.item()) if mean is not None else 0
    sd = bits(std.item()) if std is not None else 0
    print("mean %08x std %08x" % (m, sd), flush=True)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--batch":
        with open(sys.argv[2]) as f:
            for line in f:
                if line.strip():
                    run(parse(shlex.split(line)))
    else:
        run(parse(sys.argv[1:]))


if __name__ == "__main__":
    main()
