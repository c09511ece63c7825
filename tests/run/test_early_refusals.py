"""Refusals that need the dataset's files, the device's facts or the run's directory are made
before the library is imported (`cli.first_problem`), in the words the library uses after."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from tests.run.cli_errors import error_line
from tests.run.test_help import run_with_imports


def write_run_directory(tmp_path):
    checkpoint = tmp_path / "run" / "checkpoints" / "best.ckpt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"")
    (tmp_path / "run" / "config.yaml").write_text("model: hybrid\n")
    return checkpoint


CASES = {
    "data_dir_left_out": (["--data", "stanford_cars"], "--data stanford_cars needs --data-dir"),
    "no_stanford_layout": (
        ["--data", "stanford_cars", "--data-dir", "{tmp}"],
        "no Stanford Cars layout found in {tmp}: give data_dir (--data-dir) a folder",
    ),
    "no_vmmrdb": (
        ["--data", "vmmrdb", "--data-dir", "{tmp}/missing"],
        "VMMRdb directory not found: {tmp}/missing; give data_dir (--data-dir)",
    ),
    "combined_names_its_option": (
        ["--data", "combined", "--data-dir", "{tmp}"],
        "no Stanford Cars layout found in {tmp}/stanford_cars: give stanford_dir (--stanford-dir)",
    ),
    "sampling_device_without_shots": (
        ["--model", "hybrid", "--q-device", "braket.aws.qubit"],
        "braket.aws.qubit estimates expectation values from samples: give shots",
    ),
    "device_without_its_option": (
        ["--model", "hybrid", "--q-device", "braket.aws.qubit", "--shots", "100"],
        "braket.aws.qubit needs the device option(s) device_arn",
    ),
    "noise_on_a_pure_state_simulator": (
        [
            "--model",
            "quanv",
            "--q-device",
            "default.qubit",
            "--q-device-options",
            "{{noise: bit_flip}}",
        ],
        "default.qubit takes no noise option",
    ),
    "unknown_device": (["--q-device", "ibm.fake"], "unknown quantum device 'ibm.fake'"),
    "adjoint_with_shots": (
        ["--q-device", "lightning.qubit", "--q-diff-method", "adjoint", "--shots", "10"],
        "diff_method='adjoint' needs exact expectation values (shots=None), got shots=10",
    ),
    "resumed_run_keeps_its_data_dir": (
        ["--resume", "{tmp}/gone", "--data", "stanford_cars"],
        "--resume {tmp}/gone: no such run directory or checkpoint file",
    ),
    "options_file_without_callbacks": (
        ["--config", "experiments/configs/digits_hybrid.yaml", "--max-epochs", "0"],
        "--max-epochs 0: give at least 1",
    ),
    "circuit_without_qubits": (["--n-qubits", "0"], "n_qubits must be at least 1, got 0"),
    "identity_blocks_of_one_layer": (
        ["--model", "hybrid", "--q-depth", "1"],
        "identity blocks (the default) need q_depth >= 2",
    ),
    "nothing_to_resume": (
        ["--resume", "{tmp}/gone"],
        "--resume {tmp}/gone: no such run directory or checkpoint file",
    ),
    "no_run_to_resume_last": (
        ["--resume", "last", "--output-dir", "{tmp}"],
        "--resume last: no run directory {tmp}/hybrid-digits-seed0-* holds",
    ),
    "no_checkpoint_to_evaluate": (
        ["--evaluate", "{tmp}/best.ckpt", "--q-device", "qiskit.aer", "--shots", "10"],
        "--evaluate {tmp}/best.ckpt: needs a checkpoint inside a run directory",
    ),
    "evaluation_without_a_device": (
        ["--evaluate", "{tmp}/run/checkpoints/best.ckpt"],
        "--evaluate needs --q-device (and --shots for sampling devices)",
    ),
    "evaluation_on_a_device_without_shots": (
        ["--evaluate", "{tmp}/run/checkpoints/best.ckpt", "--q-device", "qiskit.aer"],
        "qiskit.aer estimates expectation values from samples: give shots",
    ),
}


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> tuple[dict[str, dict], Path]:
    """Each case's answer, all run in one interpreter (`run_with_imports`), and their folder."""
    tmp = tmp_path_factory.mktemp("refusals")
    write_run_directory(tmp)
    argvs = [[arg.format(tmp=tmp) for arg in argv] for argv, _ in CASES.values()]
    plugin = ["--model", "hybrid", "--q-device", "lightning.kokkos"]
    answered = run_with_imports([*argvs, plugin])
    return dict(zip([*CASES, "plugin"], answered, strict=True)), tmp


@pytest.mark.parametrize("case", list(CASES))
def test_refused_before_the_library_is_imported(answers, case):
    answered, tmp = answers
    answer = answered[case]
    assert (answer["code"], answer["loaded"]) == (2, []), answer["stderr"]
    line = error_line(answer["stderr"])
    assert line.startswith("error: " + CASES[case][1].format(tmp=tmp)), line


@pytest.mark.skipif(
    "lightning.kokkos"
    in {entry.name for entry in importlib.metadata.entry_points(group="pennylane.plugins")},
    reason="pennylane-lightning-kokkos is installed here",
)
def test_a_device_whose_plugin_is_missing(answers):
    answer = answers[0]["plugin"]
    assert (answer["code"], answer["loaded"]) == (2, []), answer["stderr"]
    assert error_line(answer["stderr"]) == (
        "error: quantum device 'lightning.kokkos' needs the pennylane-lightning-kokkos "
        "package: pip install 'hqnn_lightning[gpu]'"
    )
