#!/usr/bin/python3
"""compare_npy: do two (T, V) logit arrays agree?

Prints the largest absolute difference (and where), and at how many
positions the argmax agrees. Fails (exit 1) if the shapes differ, a value is
not finite, max |delta| exceeds --tol, or an argmax differs. A position where
the reference's two best logits are closer than --tie-gap is an honest near
tie that rounding may break either way, so its argmax is not checked (and
the skip is reported).

Usage: compare_npy.py GOT.npy REFERENCE.npy [--tol 1e-3] [--tie-gap 1e-5] [--label NAME]
"""
import argparse
import sys

import numpy as np


def compare(got, ref, tol, tie_gap):
    """Returns (ok, message)."""
    if got.shape != ref.shape:
        return False, "shape %s, reference %s" % (got.shape, ref.shape)
    if got.ndim != 2 or got.size == 0:
        return False, "expected a non-empty (T, V) array, got shape %s" % (got.shape,)
    if not np.all(np.isfinite(got)):
        return False, "%d non-finite values" % int(np.sum(~np.isfinite(got)))
    got64, ref64 = got.astype(np.float64), ref.astype(np.float64)
    delta = np.abs(got64 - ref64)
    t, v = np.unravel_index(int(np.argmax(delta)), delta.shape)
    max_delta = float(delta[t, v])
    top2 = np.sort(ref64, axis=1)[:, -2:] if ref.shape[1] > 1 else None
    gap = top2[:, 1] - top2[:, 0] if top2 is not None else np.full(ref.shape[0], np.inf)
    checked = gap >= tie_gap
    agree = np.argmax(got64, axis=1) == np.argmax(ref64, axis=1)
    bad = np.nonzero(checked & ~agree)[0]
    msg = "max|delta| %.3g at (%d,%d), argmax agrees at %d/%d checked positions" % (
        max_delta, t, v, int(np.sum(checked & agree)), int(np.sum(checked)))
    skipped = int(np.sum(~checked))
    if skipped:
        msg += " (%d near-tie positions skipped: top-2 gap < %g)" % (skipped, tie_gap)
    if max_delta > tol:
        return False, msg + "; exceeds tolerance %g" % tol
    if len(bad):
        return False, msg + "; argmax differs at positions %s" % bad[:10].tolist()
    return True, msg


def main(argv):
    ap = argparse.ArgumentParser(description="Compares two (T, V) logit arrays.")
    ap.add_argument("got")
    ap.add_argument("reference")
    ap.add_argument("--tol", type=float, default=1e-3, help="largest allowed |delta| (default 1e-3)")
    ap.add_argument("--tie-gap", type=float, default=1e-5, help="skip argmax where the reference's top-2 gap is below this")
    ap.add_argument("--label", default="", help="prefix for the printed line")
    a = ap.parse_args(argv)
    try:
        got, ref = np.load(a.got), np.load(a.reference)
    except (OSError, ValueError) as e:
        print("%s%s" % (a.label + ": " if a.label else "", e))
        return 1
    ok, msg = compare(got, ref, a.tol, a.tie_gap)
    print("%s%s%s" % (a.label + ": " if a.label else "", "" if ok else "FAIL: ", msg))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
