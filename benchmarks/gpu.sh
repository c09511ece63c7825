#!/usr/bin/env bash
# The GPU check, one run of at most about 8 minutes: the CUDA tests, the benchmarks on CUDA
# (each against its reference, measured in the same run), short training runs on the GPU, and
# the fine-tuned 196-class runs of experiments/study196.sh (when the data is there).
# Every log and a Markdown summary, gpu_tables.md, go to $OUT (7 files).
#
#   OUT=/tmp/gpu_out bash benchmarks/gpu.sh
#
# On the lent GPU machine (docs/quantum_backends.md, "The GPU check") it first installs the
# wheels carried in .whl/ into /tmp/site. Elsewhere:
#   PYTHON=.venv/bin/python   the interpreter (default python3)
#   GPU_SKIP_INSTALL=1        use that interpreter's packages, install nothing
#   GPU_QUICK=1               tiny sizes: a smoke run of the same commands
#   GPU_DEVICE=cpu            run the CUDA benchmarks on the CPU instead (with GPU_QUICK=1)
#   GPU_BUDGET=450            seconds for all the steps; a step that would start later is skipped
#   GPU_CARS=DIR              the 196-class Stanford Cars folder (../shared/data/stanford_cars_196)
# Without CUDA (and GPU_DEVICE unset) the CUDA parts print "no CUDA: skipped".
set -uo pipefail

OUT=${OUT:?set OUT to the folder for the logs}
PYTHON=${PYTHON:-python3}
BUDGET=${GPU_BUDGET:-450}
export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE
cd "$(dirname "$0")/.." || exit 1
mkdir -p "$OUT"
RUNS=$(mktemp -d)

STEPS=()
FAILED=0

# step NAME LOG SECONDS COMMAND...: runs COMMAND for at most SECONDS (less if the budget is
# nearly spent), appending its output to $OUT/LOG, and records its status.
step() {
    local name=$1 log=$2 limit=$3 left=$((BUDGET - SECONDS)) start=$SECONDS status
    shift 3
    echo
    echo "=== $name ($((SECONDS))s into the check)"
    if ((left < 20)); then
        echo "skipped: the time budget of ${BUDGET}s is spent"
        STEPS+=("| $name | skipped (time) | |")
        return
    fi
    ((limit > left)) && limit=$left
    echo "\$ $*" >>"$OUT/$log"
    timeout -k 5 "$limit" "$@" 2>&1 | tee -a "$OUT/$log"
    status=$?
    case $status in
        0) STEPS+=("| $name | ok | $((SECONDS - start)) |") ;;
        124 | 137) STEPS+=("| $name | timed out after ${limit}s | $((SECONDS - start)) |") ;;
        *) STEPS+=("| $name | failed (exit $status) | $((SECONDS - start)) |") ;;
    esac
    ((status == 0)) || FAILED=1
}

# install WHEEL...: the carried wheels, into /tmp/site.
install() {
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$@"
}

# cuda_step NAME LOG SECONDS COMMAND...: step, on a machine where the benchmarks' device runs.
cuda_step() {
    if [[ $DEVICE == cuda && $HAS_CUDA != 1 ]]; then
        echo
        echo "=== $1"
        echo "no CUDA: skipped"
        STEPS+=("| $1 | no CUDA: skipped | |")
        return
    fi
    step "$@"
}

main() {
    echo "=== setup"
    if [[ ${GPU_SKIP_INSTALL:-0} == 1 ]]; then
        export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
    else
        install .whl/*.whl || return 1
        rm -rf /tmp/site/tests # PennyLane's wheel ships a top-level tests/ folder
        export PYTHONPATH=/tmp/site:$PWD
        # wandb, which hqnn_lightning imports, needs protobuf 5 to 7: the image's if it is one.
        "$PYTHON" -c "import google.protobuf as p, sys
sys.exit(not 5 <= int(p.__version__.split('.')[0]) <= 7)" 2>/dev/null ||
            install .whl/fallback/*.whl || return 1
    fi
    "$PYTHON" -c "import hqnn_lightning, pennylane, jsonargparse, wandb, torch, sys
from importlib.metadata import version
print('python', sys.version.split()[0], '| torch', torch.__version__, '| CUDA', torch.version.cuda,
      '| available', torch.cuda.is_available(), '| pennylane', pennylane.__version__)
names = 'lightning torchmetrics torchvision timm numpy scipy jsonargparse wandb protobuf typing_extensions'
print(' | '.join(f'{name} {version(name)}' for name in names.split()))
print('PennyLane devices:', ', '.join(sorted(pennylane.plugin_devices)))" || return 1
    nvidia-smi -L 2>&1 || echo "(no nvidia-smi)"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
    HAS_CUDA=$("$PYTHON" -c "import torch; print(int(torch.cuda.is_available()))")
    DEVICE=${GPU_DEVICE:-cuda}
    echo "lightning.gpu: not carried, not benchmarked. The pennylane-lightning-gpu 0.45.0 wheel"
    echo "  needs custatevec-cu12 and CUDA 12's cuBLAS, cuSPARSE and runtime (hundreds of MiB);"
    echo "  this image has CUDA 13's, and what travels to this machine is limited to 64 MiB."

    local quick=${GPU_QUICK:-0}
    local layers=(--only accuracy head sweep --accuracy-draws 200 --batch 256 --repeats 21
        --sweep-qubits 4 8 12 16 20 --sweep-depths 1 2 3 --budget 3 --memory-gib 32)
    local big_head=(--only head --batch 8192 --repeats 11)
    local quanv=(--repeats 11 --loop-patches 20)
    local depths=(--depths --repeats 11)
    local steps=(--repeats 21) study=(--batch 64) configs=(--batch 32)
    local synthetic=(--image-size 224 --samples-per-class 128 --batch-size 64 --max-epochs 2)
    local digits_epochs=2
    local finetuned=(--max-epochs 3 --seeds "[0,1,2]" --batch-size 64)
    if [[ $quick == 1 ]]; then
        finetuned=(--max-epochs 1 --seeds "[0]" --batch-size 8 --num-classes 3)
        layers=(--only accuracy head sweep --accuracy-draws 5 --batch 16 --repeats 2
            --sweep-qubits 4 --sweep-depths 1 --budget 1)
        big_head=(--only head --batch 64 --repeats 2)
        quanv=(--batch 2 --size 32 --repeats 1 --loop-patches 4)
        depths=(--depths --batch 2 --size 24 --repeats 1)
        steps=(--size 32 --repeats 1) study=(--batch 4) configs=(--batch 2)
        synthetic=(--image-size 32 --samples-per-class 8 --batch-size 8 --max-epochs 1)
        digits_epochs=1
    fi
    local accelerator=gpu
    [[ $DEVICE == cpu ]] && accelerator=cpu

    step "CUDA tests" tests.log 150 "$PYTHON" -m pytest -q -p no:cacheprovider -rs \
        "tests/quantum/statevector/test_statevector.py::TestCuda" \
        "tests/quantum/test_quanvolution.py::TestExpansionPaths::test_cuda_equals_cpu" \
        "tests/data/test_transforms.py::test_batch_augmentation_runs_on_cuda" \
        "tests/data/test_digits.py::TestBatches::test_loader_options" \
        "tests/quantum/test_devices.py::TestPluginSimulators::test_lightning_extras_default_to_adjoint_and_match_default_qubit"
    cuda_step "quantum_layers.py: accuracy, head, sweep" quantum_layers.log 120 \
        "$PYTHON" benchmarks/quantum_layers.py --device "$DEVICE" "${layers[@]}"
    cuda_step "quanvolution.py: accuracy, timing" quanvolution.log 90 \
        "$PYTHON" benchmarks/quanvolution.py --device "$DEVICE" "${quanv[@]}"
    cuda_step "train_step.py, batch 64 (study scale)" train_step.log 75 \
        "$PYTHON" benchmarks/train_step.py --device "$DEVICE" "${steps[@]}" "${study[@]}"
    cuda_step "train_step.py, batch 32 (the configs' batch)" train_step.log 60 \
        "$PYTHON" benchmarks/train_step.py --device "$DEVICE" "${steps[@]}" "${configs[@]}"
    cuda_step "runner: digits hybrid on the GPU" runner.log 60 \
        "$PYTHON" experiments/run.py --config experiments/configs/digits_hybrid.yaml \
        --logger csv --progress-bar false --max-epochs "$digits_epochs" \
        --accelerator "$accelerator" --num-workers 0 --output-dir "$RUNS"
    for model in hybrid hybrid_control; do
        cuda_step "runner: $model, ResNet-50, synthetic images" runner.log 60 \
            "$PYTHON" experiments/run.py --model "$model" --data synthetic --arch resnet50 \
            "${synthetic[@]}" --logger csv --progress-bar false --accelerator "$accelerator" \
            --num-workers 0 --output-dir "$RUNS"
    done
    # experiments/study196.sh's fine-tuned part: every backbone layer trains.
    local cars=${GPU_CARS:-../shared/data/stanford_cars_196}
    for model in classical hybrid hybrid_control; do
        if [[ ! -d $cars/train ]]; then
            STEPS+=("| runner: $model fine-tuned, 196 classes | no data at $cars: skipped | |")
            continue
        fi
        cuda_step "runner: $model fine-tuned, 196 classes, EfficientNet-Lite0" runner.log 100 \
            "$PYTHON" experiments/run.py --model "$model" --data stanford_cars --data-dir "$cars" \
            --arch efficientnet_lite0 --backbone-weights imagenet --cache-images true --lr 1e-3 \
            "${finetuned[@]}" --logger csv --progress-bar false --accelerator "$accelerator" \
            --num-workers 0 --output-dir "$RUNS/finetuned"
    done
    cuda_step "quantum_layers.py: head, large batch" quantum_layers.log 60 \
        "$PYTHON" benchmarks/quantum_layers.py --device "$DEVICE" "${big_head[@]}"
    cuda_step "quanvolution.py --depths" quanvolution.log 60 \
        "$PYTHON" benchmarks/quanvolution.py --device "$DEVICE" "${depths[@]}"

    summary >"$OUT/gpu_tables.md"
    echo
    cat "$OUT/gpu_tables.md"
    return "$FAILED"
}

# summary: the Markdown for docs/quantum_backends.md: environment, steps, then every table.
summary() {
    echo "# GPU check, $(date -u +%Y-%m-%d)"
    echo
    "$PYTHON" -c "import torch, pennylane
gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'
print(f'{gpu}; torch {torch.__version__} (CUDA {torch.version.cuda}), PennyLane',
      f'{pennylane.__version__}; {torch.get_num_threads()} CPU threads.')"
    echo "Benchmarks on \`${DEVICE}\`$([[ ${GPU_QUICK:-0} == 1 ]] && echo ', tiny sizes (GPU_QUICK=1)')."
    echo
    echo "| step | status | seconds |"
    echo "|---|---|---|"
    printf '%s\n' "${STEPS[@]}"
    echo
    echo "CUDA tests: $(grep -E '(passed|failed|skipped|error)' "$OUT/tests.log" | tail -1)"
    "$PYTHON" benchmarks/gpu_tables.py \
        "Variational head and sweep (benchmarks/quantum_layers.py)" "$OUT/quantum_layers.log" \
        "Quanvolution (benchmarks/quanvolution.py)" "$OUT/quanvolution.log" \
        "Training step (benchmarks/train_step.py)" "$OUT/train_step.log" \
        "Runner (experiments/run.py)" "$OUT/runner.log"
}

main 2>&1 | tee "$OUT/gpu.log"
status=$?
rm -rf "$RUNS"
exit "$status"
