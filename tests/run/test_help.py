"""``experiments/run.py --help`` reads in seconds: the common options by group with their
defaults, ``--help-all`` every option, ``--help NAME`` one model's or dataset's; no test
variants, no internal names; and the help and a refused option import no model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hqnn_lightning.experiment.options import RUNNER_OPTIONS, option_flag
from hqnn_lightning.run.cli import main
from hqnn_lightning.run.help import COMMON, GROUPS, HelpRequest, help_request, help_text
from hqnn_lightning.run.option_table import derived_option_table
from tests.run.cli_errors import error_line

ROOT = Path(__file__).resolve().parents[2]
INTERNAL = re.compile(r"`|BACKBONES|HF_DATASET|FeatureCache|matched_hidden|MAX_FOURIER")
"""Code identifiers a user of the command line has no use for."""
OPTION_NAMES = re.compile(
    r"\b(" + "|".join(o.name for o in RUNNER_OPTIONS if "_" in o.name) + r"|n_qubits)\b"
)
"""Options spelled as Python names rather than flags."""


def shown(request: str) -> str:
    return help_text(HelpRequest(request), derived_option_table())


def flags_in(text: str) -> list[str]:
    return re.findall(r"^  (--[a-z-]+)", text, flags=re.MULTILINE)


def test_help_shows_the_common_options_by_group_in_few_lines():
    text = shown("common")
    assert len(text.splitlines()) <= 120
    assert flags_in(text) == [
        option_flag(name) for _, names in GROUPS for name in names if name in COMMON
    ]
    titles = [line[:-1] for line in text.splitlines() if line.endswith(":") and line[0] != " "]
    assert titles == [title for title, _ in GROUPS]


@pytest.mark.parametrize("request_", ["common", "all", "hybrid", "digits"])
def test_no_test_variant_or_internal_name_is_shown(request_):
    text = shown(request_)
    assert "_tiny" not in text
    assert INTERNAL.search(text) is None, INTERNAL.search(text)
    assert OPTION_NAMES.search(text) is None, OPTION_NAMES.search(text)


def test_every_entry_gives_its_default():
    entries = re.split(r"\n  (?=--)", shown("all").split("\n\n", 2)[2])
    described_default = ("--optimizer", "--lr-scheduler", "--callbacks", "--print-config")
    for entry in entries:
        if entry.startswith("--") and not entry.startswith(described_default):
            assert "Default " in " ".join(entry.split()), entry


def test_every_option_of_the_package_has_a_group():
    options = {option.name for option in RUNNER_OPTIONS}
    options |= {option.name for option in derived_option_table().options}
    grouped = [name for _, names in GROUPS for name in names]
    assert len(grouped) == len(set(grouped))
    assert set(grouped) - {"config", "print_config"} == options


def test_help_all_names_the_models_that_take_an_option():
    entry = shown("all").split("  --kernel-size")[1].split("\n  --")[0]
    assert "models: quanv, quanv_control, quanv_control_trainable." in " ".join(entry.split())


def test_help_of_one_model_gives_its_own_defaults():
    hybrid, study = shown("hybrid"), shown("hybrid_study")
    assert "--n-qubits" in hybrid and "--kernel-size" not in hybrid
    assert "--test-fraction" not in hybrid and "--max-epochs" in hybrid
    assert re.search(r"--encoding \{[a-z_,]+\}\s+.*?Default hadamard_ry\.", hybrid, re.DOTALL)
    assert re.search(r"--encoding \{[a-z_,]+\}\s+.*?Default rx\.", study, re.DOTALL)
    assert re.search(r"--test-fraction FLOAT\s+.*?Default 0\.15\.", shown("digits"), re.DOTALL)


@pytest.mark.parametrize(
    ("argv", "about"),
    [
        (["--help"], "common"),
        (["-h"], "common"),
        (["--model", "quanv", "--help"], "common"),
        (["--help-all"], "all"),
        (["--help", "hybrid"], "hybrid"),
        (["--help", "--model"], "common"),
    ],
)
def test_the_help_asked_for(argv, about):
    assert help_request(argv) == HelpRequest(about)


def test_help_of_an_unknown_name_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help", "hybird"])
    assert exit_info.value.code == 2
    line = error_line(capsys.readouterr().err)
    assert line.startswith("error: --help hybird: no model or dataset of that name; give one of")


def test_print_config_is_also_spelled_with_a_dash(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", "classical", "--print-config"])
    assert exit_info.value.code == 0
    assert "model: classical" in capsys.readouterr().out


LOADED = """
import contextlib, io, json, runpy, sys
script = sys.argv[2]
heavy = {"lightning", "pennylane", "torchmetrics", "torchvision", "wandb", "matplotlib"}
answers = []
for argv in json.loads(sys.argv[1]):
    sys.argv = [script, *argv]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as exit:
            code = exit.code
        else:
            code = 0
    loaded = sorted({name.split(".")[0] for name in sys.modules} & heavy)
    answers.append({"code": code, "loaded": loaded, "stderr": stderr.getvalue()})
print(json.dumps(answers))
"""

HELP_AND_REFUSALS = {
    "help": (["--help"], 0),
    "help_all": (["--help-all"], 0),
    "help_model": (["--help", "hybrid"], 0),
    "untaken_option": (["--model", "classical", "--n-qubits", "4"], 2),
    "wrong_type": (["--n-qubits", "four"], 2),
    "misspelt_option": (["--modle", "hybrid"], 2),
    "shots_on_torch": (["--shots", "100"], 2),
    "unknown_model": (["--model", "qcnn"], 2),
}


@pytest.fixture(scope="module")
def answers() -> dict[str, dict]:
    argvs = [argv for argv, _ in HELP_AND_REFUSALS.values()]
    return dict(zip(HELP_AND_REFUSALS, run_with_imports(argvs), strict=True))


@pytest.mark.parametrize("case", list(HELP_AND_REFUSALS))
def test_the_help_and_a_refusal_import_no_model(answers, case):
    """What `benchmarks/cli_startup.py` times: these answer without Lightning or PennyLane."""
    answer, (_, code) = answers[case], HELP_AND_REFUSALS[case]
    assert (answer["code"], answer["loaded"]) == (code, []), answer["stderr"]
    if code:
        error_line(answer["stderr"])


def run_with_imports(argvs: list[list[str]], script: str = "experiments/run.py") -> list[dict]:
    """``script`` run with each of ``argvs`` in turn, in one fresh interpreter: for each,
    ``{"code": its exit status, "loaded": the heavy packages imported so far, "stderr": what
    it wrote there}``. The runs share the interpreter, so a heavy import shows from the run
    that made it on."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED, json.dumps(argvs), script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    ("argv", "lightnings"),
    [
        (["--model", "hybrid"], False),
        (["--callbacks+", "lightning.pytorch.callbacks.LearningRateMonitor"], True),
        (["--config", "{tmp}/callbacks.yaml"], True),
        (["--config={tmp}/callbacks.yaml"], True),
        (["--config", "{tmp}/chained.yaml"], True),
        (["--config", "{tmp}/plain.yaml"], False),
        (["--config", "{tmp}/missing.yaml"], False),
        (["--config", "{callbacks: []}"], True),
        (["--resume", "last"], False),
        (["--evaluate", "run/checkpoints/best.ckpt"], False),
        (None, True),
    ],
)
def test_callbacks_take_lightnings_type_wherever_a_command_can_set_them(tmp_path, argv, lightnings):
    from hqnn_lightning.run.options import build_parser

    (tmp_path / "callbacks.yaml").write_text(
        "callbacks:\n  - class_path: lightning.pytorch.callbacks.LearningRateMonitor\n"
    )
    (tmp_path / "chained.yaml").write_text("config: callbacks.yaml\n")
    (tmp_path / "plain.yaml").write_text("model: hybrid\nn_qubits: 4\n")
    if argv is not None:
        argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    parser = build_parser(argv)
    # jsonargparse adds --callbacks.help CLASS only for a type of classes, Lightning's here.
    assert any(action.dest == "callbacks.help" for action in parser._actions) is lightnings
    assert parser.get_defaults().callbacks is None
