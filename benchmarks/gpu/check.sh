#!/usr/bin/env bash
# One prepared GPU check, for a machine with a GPU and no internet (docs/benchmarks.md, "The GPU check"):
#   bash benchmarks/gpu/check.sh [WHEELS] [OUT]
# WHEELS: a folder of the wheels the machine lacks (snakemake and its dependencies, pynndescent, netCDF4; make it on a
# machine with internet with `pip wheel -w wheels snakemake pynndescent netCDF4 connection_pool`) and, in
# WHEELS/fashion-mnist, Fashion-MNIST's four IDX .gz files (or set FMNIST_DIR); OUT: where the results go ($OUT or
# gpu_check). It installs them, runs the training, stacked-seeds, k-NN and ablation (VGG16 at width 1) benchmarks and a paper-width
# Fashion-MNIST study of 4 seeds per architecture (benchmarks/gpu/study.yaml), then prints the per-stage table and
# the projected GPU-hours of configs/paper.yaml. About 6-8 minutes on one H100/H200. DEVICE=cpu and STUDY=... run
# it elsewhere (the tests run it on a tiny study on the CPU).
set -euo pipefail
cd "$(dirname "$0")/../.."
wheels=${1:-wheels}
out=$(realpath -m "${2:-${OUT:-gpu_check}}")
device=${DEVICE:-cuda}
study=$(realpath "${STUDY:-benchmarks/gpu/study.yaml}")
python=${PYTHON:-python3}
mkdir -p "$out"
if [ -d "$wheels" ]; then
    $python -m pip install --quiet --no-index --find-links "$wheels" snakemake pynndescent netCDF4
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's package
$python -c 'import torch; print("torch", torch.__version__, "| device:", torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu")' | tee "$out/device.txt"

fmnist=$(realpath -m "${FMNIST_DIR:-$wheels/fashion-mnist}")
if [ -z "${SKIP_BENCHMARKS:-}" ]; then
    $python benchmarks/training.py --config configs/paper.yaml --device "$device" | tee "$out/training.txt"
    $python benchmarks/stacked.py --device "$device" | tee "$out/stacked.txt"
    $python benchmarks/knn.py --epochs 1 --workdir "$out/knn" --data-dir "$fmnist" --device "$device" | tee "$out/knn.txt"
    # probe_model against a torch loop on the device, exact search for every layer (docs/benchmarks.md)
    $python benchmarks/probe_speed.py --sizes 15000 70000 --archs mlp resnet18 --methods "pdepth auto" "torch loop" \
        --workdir "$out/probe_speed" --data-dir "$fmnist" --device "$device" | tee "$out/probe_speed.txt"
    # The ablation's paper-width point (docs/results.md, "Where the gap comes from"): VGG16 at width 1, 2 seeds
    $python benchmarks/ablation.py --workdir "$out/ablation" --points default "width 1 (paper)" --data-dir "$fmnist" \
        --device "$device" --cores "$(nproc)" | tee "$out/ablation.txt"
fi

workdir="$out/study"
mkdir -p "$workdir"
targets=$($python - "$study" "$workdir/study.yaml" "$device" "$fmnist" <<'PY'
import os, sys, yaml
study, written, device, fmnist = sys.argv[1:]
config = yaml.safe_load(open(study))
config["device"] = device
if os.path.isdir(fmnist):
    config.setdefault("data", {})["data_dir"] = fmnist
yaml.safe_dump(config, open(written, "w"))
print(" ".join(f"results/{d}/{a}/metrics.nc" for d in config["datasets"] for a in config["architectures"]))
PY
)
started=$(date +%s)
$python -m snakemake $targets -s "$PWD/Snakefile" --directory "$workdir" --configfile "$workdir/study.yaml" \
    --cores all --scheduler greedy > "$out/study.log" 2>&1 || { tail -50 "$out/study.log"; exit 1; }
echo "study: $(( $(date +%s) - started )) s wall ($study, device $device)" | tee "$out/study.txt"
$python benchmarks/gpu/projection.py --study "$study" --run "$workdir" | tee -a "$out/study.txt"
