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

The table is headed by the CPU family it was measured on (README keeps one
table per family: the ratios differ between them), the ISA path of
lesion's kernels and the OpenBLAS kernel both sides ran. The scale rows
(GPT-2 XL shapes, the heads sweep on gpt2-medium shapes) are lesion only,
for information.

The hooks row is lesion's prefill 1x1024 with one site observed through
the hooks API (bench_lesion --hook), against the same PyTorch prefill as
the plain row; a line under the table gives its cost over the plain one.

The family rows ("<model> (<arch>) prefill 1x512" and "... decode", for
each model bench/run.sh ran: workloads named "<model>/prefill-1x512" and
"<model>/decode") have no goal: "info", or "CHECK FAILED" when the model's
check line ("<model>/check": lesion's logits against PyTorch's, and
PyTorch's cached path against its full forward) is missing or failed, or
"not run".
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

# (row, workload, lesion's variant: weight storage, "+compute-bf16" for --compute bf16, measure, unit,
# goal kind, goal value, goal text); PyTorch always runs with fp32 weights. Goal kind "ratio_amx": the
# goal applies where the CPU has AMX-BF16; elsewhere the row is information.
ROWS = [
    ("prefill 1x1024", "prefill-1x1024", "f32", "secs", "s", "ratio", 2.0, ">= 2x faster"),
    ("prefill 8x128", "prefill-8x128", "f32", "secs", "s", "ratio", 1.5, ">= 1.5x faster"),
    ("decode (batch 1)", "decode", "f32", "ms_per_token", "ms/tok", "ratio", 2.5, ">= 2.5x faster"),
    ("decode, lesion f32-copy weights", "decode", "f32-copy", "ms_per_token", "ms/tok", "ratio", 2.5, ">= 2.5x faster"),
    ("decode, lesion bf16 weights", "decode", "bf16", "ms_per_token", "ms/tok", "ratio", 4.5, ">= 4.5x faster"),
    ("prefill 1x1024, lesion --compute bf16", "prefill-1x1024", "bf16+compute-bf16", "secs", "s", "ratio_amx", 4.0,
     ">= 4x faster with AMX"),
    ("prefill 8x128, lesion --compute bf16", "prefill-8x128", "bf16+compute-bf16", "secs", "s", None, None, ""),
    ("first token", "first-token", "f32", "wall_secs", "s", "below", 0.5, "< 0.5 s"),
    ("peak RSS, prefill 1x1024", "prefill-1x1024", "f32", "rss", "MiB", "atmost", 650.0, "<= 650 MiB"),
    ("peak RSS, prefill 1x1024, lesion bf16", "prefill-1x1024", "bf16", "rss", "MiB", "atmost", 650.0, "<= 650 MiB"),
    ("sweep (13 cfg x 5 seeds)", "sweep", "f32", "sweep_secs", "s", None, None, ""),
]


SCALE_ROWS = [  # (row, workload label, lesion variant, measure, unit)
    ("GPT-2 XL prefill 1x1024", "xl-prefill-1x1024", "f32", "secs", "s"),
    ("GPT-2 XL prefill 1x1024, bf16 weights", "xl-prefill-1x1024", "bf16", "secs", "s"),
    ("GPT-2 XL prefill 1x1024, --compute bf16", "xl-prefill-1x1024", "bf16+compute-bf16", "secs", "s"),
    ("GPT-2 XL decode (32 steps)", "xl-decode", "f32", "ms_per_token", "ms/tok"),
    ("GPT-2 XL decode, bf16 weights", "xl-decode", "bf16", "ms_per_token", "ms/tok"),
    ("GPT-2 XL peak RSS, prefill 1x1024", "xl-prefill-1x1024", "f32", "rss", "MiB"),
    ("GPT-2 XL peak RSS, prefill 1x1024, bf16 weights", "xl-prefill-1x1024", "bf16", "rss", "MiB"),
    ("GPT-2 XL peak RSS, decode", "xl-decode", "f32", "rss", "MiB"),
    ("GPT-2 XL peak RSS, decode, bf16 weights", "xl-decode", "bf16", "rss", "MiB"),
    ("heads sweep, gpt2-medium shapes (--seeds 1, 1024 tokens)", "medium-heads-sweep", "f32", "wall_secs", "s"),
]


def variant(r):
    """lesion's weight storage, with "+compute-bf16" for --compute bf16 and "+hook" for a hooked
    process (lines without the fields ran fp32 without hooks)."""
    return (r.get("weights", "f32") + ("+compute-bf16" if r.get("compute", "f32") == "bf16" else "")
            + ("+hook" if r.get("hook") else ""))


HOOK_ROW = "prefill 1x1024, one observed site (%s)"  # after "prefill 1x1024"; the site from the raw lines


def family_models(lines):
    """[(model name, arch)] of the family rows, in the order they ran (from their check or timed lines)."""
    out = []
    for r in lines:
        name, _, w = r["workload"].rpartition("/")
        if name and w in ("check", "prefill-1x512", "decode") and name not in [n for n, _ in out]:
            out.append((name, (r.get("model") or {}).get("arch", "?")))
    return out


def family_check(lines, name):
    """The check of a family model: (ok, text for the status and the check line)."""
    c = next((r.get("check") for r in lines if r["workload"] == name + "/check"), None)
    if c is None:
        return False, "no check ran"
    if "error" in c:
        return False, c["error"]
    text = "max |d logit| %.2g, cached path %.2g (tolerance %.2g), argmax %s" % (
        c["max_abs_diff"], c["cache_max_abs_diff"], c["tolerance"], "equal" if c["argmax_equal"] else "DIFFERS")
    return bool(c["ok"]), text


def cpu_family(system):
    """A short name for the CPU family of lesion --version --json (README keeps one table per family)."""
    vendor, fam, model = system.get("cpu_vendor", ""), system.get("cpu_family", 0), system.get("cpu_model", 0)
    if vendor == "AuthenticAMD":
        names = {23: "AMD Zen 1/2", 25: "AMD Zen 4" if 0x10 <= model <= 0x1f or 0x60 <= model <= 0xaf else "AMD Zen 3",
                 26: "AMD Zen 5"}
        return names.get(fam, "AMD family %d" % fam)
    if vendor == "GenuineIntel" and fam == 6:
        names = {85: "Intel Skylake/Cascade Lake-SP", 106: "Intel Ice Lake-SP", 108: "Intel Ice Lake-SP",
                 143: "Intel Sapphire Rapids", 207: "Intel Emerald Rapids", 173: "Intel Granite Rapids"}
        return names.get(model, "Intel family 6 model %d" % model)
    return "%s family %d model %d" % (vendor or "unknown", fam, model)


def pooled(lines, impl, workload, measure, weights="f32"):
    """All values of a measure over the processes of (impl, workload), lesion's
    with the given variant (variant())."""
    vals = []
    for r in lines:
        if r["impl"] != impl or r["workload"] != workload:
            continue
        if impl == "lesion" and variant(r) != weights:
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
    ap.add_argument("--scale-note", default="")
    ap.add_argument("--family-note", default="", help="why family models were left out")
    ap.add_argument("--system", help="lesion --version --json of this run")
    ap.add_argument("--env-coretype", default="", help="OPENBLAS_CORETYPE as the environment had it")
    ap.add_argument("--commit", help="the commit the run built (default: the checkout's now)")
    a = ap.parse_args(argv)
    system = {}
    if a.system:
        with open(a.system) as f:
            system = json.load(f)
    has_amx = "amx_bf16" in system.get("cpu_flags", "").split()
    with open(a.raw) as f:
        lines = [json.loads(s) for s in f if s.strip()]

    peak = {impl: max((r["flops"] / s / 1e9 for r in lines if r["impl"] == impl and r["workload"] == "sgemm"
                       for s in r["secs"]), default=None) for impl in ("lesion", "torch")}
    sgemm_rows = [r for r in lines if r["impl"] == "lesion" and r["workload"] == "sgemm"]
    ways = {k: max(r[k] for r in sgemm_rows) for k in ("gflops_openblas_threads", "gflops_split_columns")}
    blas_peak = peak["lesion"]

    hook_site = next((r["hook"] for r in lines if r["impl"] == "lesion" and r.get("hook")), None)
    specs = list(ROWS)
    if hook_site:
        specs.insert(1, (HOOK_ROW % hook_site, "prefill-1x1024", "f32+hook", "secs", "s", "info", None, ""))
    checks = {}
    for name, arch in family_models(lines):
        checks[name] = family_check(lines, name)
        specs += [("%s (%s) prefill 1x512" % (name, arch), name + "/prefill-1x512", "f32", "secs", "s", "family",
                   None, ""),
                  ("%s (%s) decode" % (name, arch), name + "/decode", "f32", "ms_per_token", "ms/tok", "family", None,
                   "")]

    rows, table = [], []
    for label, workload, weights, measure, unit, kind, goal, goal_text in specs:
        le, to = pooled(lines, "lesion", workload, measure, weights), pooled(lines, "torch", workload, measure)
        row = {"row": label, "workload": workload, "lesion_weights": weights, "unit": unit, "lesion": le, "torch": to,
               "goal": goal_text}
        if kind == "family":
            name = workload.rpartition("/")[0]
            row["check"] = {"ok": checks[name][0], "summary": checks[name][1]}
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
        amx_info = kind == "ratio_amx" and not has_amx
        if amx_info:
            ok, kind = None, "info"
        if kind in ("ratio", "ratio_amx"):
            ok = ratio >= goal
        elif kind == "below":
            ok = lm < goal
        elif kind == "atmost":
            ok = lm <= goal
        else:
            ok = None
        if kind == "family":
            row["status"] = "info" if row["check"]["ok"] else "CHECK FAILED"
        elif ok is None:
            row["status"] = "info (no AMX here)" if amx_info else "info" if kind == "info" else ""
        else:
            row["status"] = "PASS" if ok else "MISS"
        rows.append(row)
        rng = lambda v, m: "%s %s (%s-%s)" % (fmt(m), unit, fmt(min(v)), fmt(max(v)))  # noqa: E731
        table.append([label, rng(le, lm), rng(to, tm), "%.2fx" % ratio, gf[0], gf[1], goal_text, row["status"]])

    family = cpu_family(system) if system else "unknown CPU family"
    # not the family checks; the sweep rows run the CLI, which reports no kernel (the CLI's own
    # kernel is in `system`, from lesion --version)
    timed = [r for r in lines if "secs" in r and r["workload"] not in ("sweep", "medium-heads-sweep")]
    torch_kernels = sorted({r.get("blas_kernel") or "?" for r in timed if r["impl"] == "torch"})
    lesion_kernels = sorted({r.get("blas_kernel") or "?" for r in timed if r["impl"] == "lesion"})
    print("\n%s: %s (%s family %s model %s), lesion kernels %s, OpenBLAS kernel %s (lesion) / %s (torch)%s"
          % (family, system.get("cpu", lscpu_model()), system.get("cpu_vendor", "?"), system.get("cpu_family", "?"),
             system.get("cpu_model", "?"), system.get("isa", "?"), "/".join(lesion_kernels), "/".join(torch_kernels),
             "; the environment had OPENBLAS_CORETYPE=" + a.env_coretype
             if a.env_coretype and a.env_coretype != os.environ.get("OPENBLAS_CORETYPE") else ""))
    head = ["workload", "lesion median (min-max)", "torch median (min-max)", "torch/lesion",
            "lesion GFLOP/s (% peak)", "torch GFLOP/s (% peak)", "goal", "result"]
    widths = [max(len(str(r[i])) for r in table + [head]) for i in range(len(head))]
    print()
    for r in [head, ["-" * w for w in widths]] + table:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())

    scale, scale_table = [], []
    for label, workload, weights, measure, unit in SCALE_ROWS:
        vals = pooled(lines, "lesion", workload, measure, weights)
        if not vals:
            continue
        med = statistics.median(vals)
        row = {"row": label, "workload": workload, "lesion_weights": weights, "unit": unit, "lesion": vals,
               "lesion_median": med}
        g = ""
        if measure in ("secs", "ms_per_token"):
            per_rep = statistics.median(pooled(lines, "lesion", workload, "secs", weights))
            r0 = next(r for r in lines if r["impl"] == "lesion" and r["workload"] == workload and variant(r) == weights)
            row["lesion_gflops"] = r0["flops"] / per_rep / 1e9
            g = "%.1f" % row["lesion_gflops"]
        scale.append(row)
        scale_table.append([label, "%s %s" % (fmt(med), unit), g])
    if scale_table:
        head = ["scale (lesion only, information)", "lesion", "GFLOP/s"]
        widths = [max(len(str(r[i])) for r in scale_table + [head]) for i in range(len(head))]
        print()
        for r in [head, ["-" * w for w in widths]] + scale_table:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    if a.scale_note:
        print("scale: " + a.scale_note)
    plain = next((r for r in rows if r["row"] == "prefill 1x1024"), {})
    hooked = next((r for r in rows if hook_site and r["row"] == HOOK_ROW % hook_site), {})
    if "lesion_median" in plain and "lesion_median" in hooked:
        hooked["lesion_over_plain"] = hooked["lesion_median"] / plain["lesion_median"]
        print("\nhooks: prefill 1x1024 observing %s: %s s against %s s with no hooks (%+.1f%%, medians)"
              % (hook_site, fmt(hooked["lesion_median"]), fmt(plain["lesion_median"]),
                 100.0 * (hooked["lesion_over_plain"] - 1)))
    if checks:
        print("\nfamily checks (lesion logits of 16 ids against PyTorch's forward):")
        for name, (ok, text) in checks.items():
            print("  %s: %s: %s" % (name, "ok" if ok else "FAILED", text))
    if a.family_note:
        print("families: " + a.family_note)
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
        "commit": a.commit or git_commit(),
        "machine": {"cpu": lscpu_model(), "cpu_family": family, "cores": os.cpu_count(), "kernel": platform.release(),
                    "load_average_at_start": a.load},
        "system": system,
        "blas_kernel": {"lesion": lesion_kernels, "torch": torch_kernels,
                        "environment_OPENBLAS_CORETYPE": a.env_coretype or None},
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                                "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")},
        "torch_version": torch_line.get("torch_version"),
        "threads": {impl: sorted({r["threads"] for r in lines if r["impl"] == impl}) for impl in ("lesion", "torch")},
        "model": a.model,
        "sgemm_peak_gflops": peak,
        "sgemm_lesion_ways_gflops": ways,
        "total_secs": a.total_secs,
        "rows": rows,
        "scale_rows": scale,
        "scale_note": a.scale_note,
        "family_note": a.family_note,
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
