#!/usr/bin/env bash
# Installs the Debian packages lesion needs to build, test and run its main job.
# Idempotent: packages already present are not touched, and apt-get runs only
# when something is missing. Needs root (CI and the dev machines run as root).
set -euo pipefail

packages=(
  build-essential pkg-config make gcc clang
  libpcre2-dev          # tokenizer: Unicode regex for GPT-2 pre-tokenization
  libcjson-dev          # config.json, vocab.json, safetensors headers
  libopenblas-dev       # sgemm for the forward pass
  liblinear-dev         # LIBLINEAR: the linear probes' classifier (lesion probe)
  libomp-dev            # OpenMP runtime for clang builds (fuzzing)
  libcmocka-dev         # unit-test framework
  libclang-rt-14-dev    # sanitizer and libFuzzer runtimes for clang
  bible-kjv             # the King James Bible: training and eval corpus
  python3-torch python3-numpy python3-regex  # independent reference, training
  nodejs npm            # tiktoken (WASM) for the differential tokenizer test
  python3-pytest python3-setuptools python3-pip  # the Python binding's tests and pip install ./python
  python3-pandas python3-matplotlib              # read_results() and the example notebook
  python3-nbclient python3-ipykernel python3-nbformat  # run examples/*.ipynb headless in the tests
  libopenmpi-dev openmpi-bin  # Open MPI: build/lesion-mpi, sweeps over many ranks (make MPI=1)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# nodejs/npm may come from outside Debian (e.g. a preinstalled node); accept a working npm.
if command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi

if ((${#missing[@]})); then
  echo "setup-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
