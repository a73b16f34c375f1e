#!/usr/bin/python3
"""report.py: the table and results.json of `make bench`, from bench/run.sh's raw JSON lines.

Every line is one process of bench_lesion or bench_torch.py. Lines of the
same (impl, workload) are pooled: their timed repetitions give the median
and the range. The ratio column is always "PyTorch / lesion" of the row's
measure, so above 1 means lesion is better (faster, or smaller) and a goal
"at least 2x" means a ratio of at least 2.

  prefill rows     seconds per forward (full logits)
  decode           milliseconds per generated token
  first token      process wall time, start to exit, including loading the weights
  peak RSS         the largest ru_maxrss of the prefill 1x1024 processes
  sweep            process wall time of the whole seed experiment (PyTorch's
                   extrapolated from one seed per configuration: 13 of 61 runs)

GFLOP/s is the workload's matmul FLOPs (the same algorithmic count for both
sides) over its median time; "% peak" relates it to the best cblas_sgemm
rate measured during the run (an sgemm process runs every round, both
ways: OpenBLAS-threaded, and split by columns over single-threaded calls).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

# (row, workload, lesion's weight storage, measure, unit, goal kind, goal value, goal text);
# PyTorch always runs with fp32 weights.
ROWS = [
    ("prefill 1x1024", "prefill-1x1024", "f32", "secs", "s", "ratio", 2.0, ">= 2x faster"),
    ("prefill 8x128", "prefill-8x128", "f32", "secs", "s", "ratio", 1.5, ">= 1.5x faster"),
    ("decode (batch 1)", "decode", "f32", "ms_per_token", "ms/tok", "ratio", 2.5, ">= 2.5x faster"),
    ("decode, lesion f32-copy weights", "decode", "f32-copy", "ms_per_token", "ms/tok", "ratio", 2.5, ">= 2.5x faster"),
    ("decode, lesion bf16 weights", "decode", "bf16", "ms_per_token", "ms/tok", "ratio", 4.5, ">= 4.5x faster"),
    ("first token", "first-token", "f32", "wall_secs", "s", "below", 0.5, "< 0.5 s"),
    ("peak RSS, prefill 1x1024", "prefill-1x1024", "f32", "rss", "MiB", "atmost", 650.0, "<= 650 MiB"),
    ("peak RSS, prefill 1x1024, lesion bf16", "prefill-1x1024", "bf16", "rss", "MiB", "atmost", 650.0, "<= 650 MiB"),
    ("sweep (13 cfg x 5 seeds)", "sweep", "f32", "sweep_secs", "s", None, None, ""),
]


def pooled(lines, impl, workload, measure, weights="f32"):
    """All values of a measure over the processes of (impl, workload), lesion's
    with the given weight storage (lines without "weights" ran fp32)."""
    vals = []
    for r in lines:
        if r["impl"] != impl or r["workload"] != workload:
            continue
        if impl == "lesion" and r.get("weights", "f32") != weights:
            continue
        if measure == "secs":
            vals += r["secs"]
        elif measure == "ms_per_token":
            vals += [1000.0 * s / r["tokens"] for s in r["secs"]]
        elif measure == "wall_secs":
            vals.append(r["wall_secs"])
        elif measure == "rss":
            vals.append(r["peak_rss_mib"])
        elif measure == "sweep_secs":
            # PyTorch runs a subset of the sweep's runs (each one identical work):
            # its process time plus the missing runs at its measured seconds per run.
            full = max(x["runs"] for x in lines if x["workload"] == "sweep")
            vals.append(r["wall_secs"] + (full - r["runs"]) * r["secs"][0] / r["runs"])
    if measure == "rss" and vals:
        vals = [max(vals)]
    return vals


def gflops(lines, impl, workload, median_secs):
    """FLOPs of one repetition over a repetition's median seconds."""
    r = next(r for r in lines if r["impl"] == impl and r["workload"] == workload)
    return r["flops"] / median_secs / 1e9


def lscpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def git_commit():
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def fmt(v):
    return "%.4g" % v


def main(argv):
    ap = argparse.ArgumentParser(description="Summarises bench/run.sh's raw results.")
    ap.add_argument("raw")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--load", type=float, help="load average when the run started")
    ap.add_argument("--total-secs", type=float)
    ap.add_argument("--sweep-note", default="")
    a = ap.parse_args(argv)
    with open(a.raw) as f:
        lines = [json.loads(s) for s in f if s.strip()]

    peak = {impl: max((r["flops"] / s / 1e9 for r in lines if r["impl"] == impl and r["workload"] == "sgemm"
                       for s in r["secs"]), default=None) for impl in ("lesion", "torch")}
    sgemm_rows = [r for r in lines if r["impl"] == "lesion" and r["workload"] == "sgemm"]
    ways = {k: max(r[k] for r in sgemm_rows) for k in ("gflops_openblas_threads", "gflops_split_columns")}
    blas_peak = peak["lesion"]

    rows, table = [], []
    for label, workload, weights, measure, unit, kind, goal, goal_text in ROWS:
        le, to = pooled(lines, "lesion", workload, measure, weights), pooled(lines, "torch", workload, measure)
        row = {"row": label, "workload": workload, "lesion_weights": weights, "unit": unit, "lesion": le, "torch": to,
               "goal": goal_text}
        if not le or not to:
            row["status"] = "not run" + (" (%s)" % a.sweep_note if workload == "sweep" and a.sweep_note else "")
            rows.append(row)
            table.append([label, "not run", "", "", "", "", goal_text, row["status"]])
            continue
        lm, tm = statistics.median(le), statistics.median(to)
        ratio = tm / lm
        row.update(lesion_median=lm, torch_median=tm, ratio_torch_over_lesion=ratio)
        gf = ["", ""]
        if measure in ("secs", "ms_per_token"):
            for i, (impl, med) in enumerate((("lesion", lm), ("torch", tm))):
                per_rep = statistics.median(pooled(lines, impl, workload, "secs", weights))
                g = gflops(lines, impl, workload, per_rep)
                row[impl + "_gflops"] = g
                row[impl + "_pct_of_sgemm_peak"] = 100.0 * g / blas_peak
                gf[i] = "%.1f (%.0f%%)" % (g, 100.0 * g / blas_peak)
        if kind == "ratio":
            ok = ratio >= goal
        elif kind == "below":
            ok = lm < goal
        elif kind == "atmost":
            ok = lm <= goal
        else:
            ok = None
        row["status"] = "" if ok is None else ("PASS" if ok else "MISS")
        rows.append(row)
        rng = lambda v, m: "%s %s (%s-%s)" % (fmt(m), unit, fmt(min(v)), fmt(max(v)))  # noqa: E731
        table.append([label, rng(le, lm), rng(to, tm), "%.2fx" % ratio, gf[0], gf[1], goal_text, row["status"]])

    head = ["workload", "lesion median (min-max)", "torch median (min-max)", "torch/lesion",
            "lesion GFLOP/s (% peak)", "torch GFLOP/s (% peak)", "goal", "result"]
    widths = [max(len(str(r[i])) for r in table + [head]) for i in range(len(head))]
    print()
    for r in [head, ["-" * w for w in widths]] + table:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    print("\nsgemm peak (1024x768 @ 768x3072, best of the run): %.1f GFLOP/s through cblas "
          "(OpenBLAS threads %.1f, split columns %.1f), %.1f through torch.mm"
          % (peak["lesion"], ways["gflops_openblas_threads"], ways["gflops_split_columns"], peak["torch"]))
    torch_sweep = next((r for r in lines if r["impl"] == "torch" and r["workload"] == "sweep"), None)
    if torch_sweep:
        print("sweep: PyTorch ran %d runs in %.1f s (%.2f s per run); its time is extrapolated to %d runs"
              % (torch_sweep["runs"], torch_sweep["secs"][0], torch_sweep["secs"][0] / torch_sweep["runs"],
                 max(r["runs"] for r in lines if r["workload"] == "sweep")))
    if a.sweep_note:
        print("sweep: not run: " + a.sweep_note)

    torch_line = next((r for r in lines if r["impl"] == "torch"), {})
    result = {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": git_commit(),
        "machine": {"cpu": lscpu_model(), "cores": os.cpu_count(), "kernel": platform.release(),
                    "load_average_at_start": a.load},
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                                "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")},
        "torch_version": torch_line.get("torch_version"),
        "threads": {impl: sorted({r["threads"] for r in lines if r["impl"] == impl}) for impl in ("lesion", "torch")},
        "model": a.model,
        "sgemm_peak_gflops": peak,
        "sgemm_lesion_ways_gflops": ways,
        "total_secs": a.total_secs,
        "rows": rows,
        "raw": lines,
    }
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(tmp, a.out)
    print("results: %s%s" % (a.out, " (%.0f s in all)" % a.total_secs if a.total_secs is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
