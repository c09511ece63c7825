"""The runner's options: derived from the registered constructors, settable from the command
line and YAML, older spellings still read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pennylane as qml
import pytest
import yaml

from hqnn_lightning.data import DATAMODULES
from hqnn_lightning.models import MODELS
from hqnn_lightning.quantum import (
    ENCODINGS,
    ENTANGLERS,
    INITIALISATIONS,
    READOUTS,
    Encoding,
)
from hqnn_lightning.report.runs import RunRecord, load_run
from hqnn_lightning.run.build import build
from hqnn_lightning.run.options import (
    FROM_DATA,
    RUNNER,
    build_parser,
    constructor_arguments,
    constructor_options,
    logistics_options,
    resumable_options,
)

OLD_CONFIG = Path(__file__).parent / "data" / "config_before_issue13.yaml"
"""A ``config.yaml`` as the runner before the option redesign wrote it (quanv_tiny on digits,
``--precompute-quanvolution true``)."""

REGISTRIES = [(MODELS, set(FROM_DATA)), (DATAMODULES, set())]


def every_argument() -> list[tuple[str, str, str]]:
    """``(registry kind, registered name, argument)`` for every constructor argument that
    an option sets (the model's shape arguments come from the DataModule)."""
    return [
        (registry.kind, name, argument)
        for registry, from_data in REGISTRIES
        for name in registry.names()
        for argument in sorted(registry.accepted_arguments(name) - from_data)
    ]


def sample_value(argument: str) -> object:
    """A value of the option's type other than ``None``."""
    option = next((o for o in constructor_options() if o.name == argument), None)
    if option is not None and option.choices:
        return option.choices[-1]
    annotation = str(option.type if option else RUNNER[argument].type)
    for type_name, value in (
        ("dict", {"noise": "depolarizing"}),
        ("list[float]", [0.5, 0.25, 0.125]),
        ("list", ["a", "b"]),
        ("bool", True),
        ("float", 0.5),
        ("int", 3),
    ):
        if type_name in annotation:
            return value
    return "text"


@pytest.mark.parametrize(("kind", "name", "argument"), every_argument())
def test_every_constructor_argument_is_an_option_of_the_command_line_and_yaml(
    kind, name, argument, tmp_path
):
    value = sample_value(argument)
    flag = "--" + argument.replace("_", "-")
    selection = ["--model", name] if kind == MODELS.kind else ["--data", name]
    written = json.dumps(value) if not isinstance(value, str) else value
    from_cli = build_parser().parse_args([*selection, flag, written])
    path = tmp_path / "options.yaml"
    path.write_text(yaml.safe_dump({argument: value}))
    from_yaml = build_parser().parse_args([*selection, "--config", str(path)])
    assert from_cli[argument] == from_yaml[argument] == value

    model_arguments, data_arguments = constructor_arguments(from_cli)
    assert (model_arguments if kind == MODELS.kind else data_arguments)[argument] == value


def test_every_derived_option_has_a_type_and_a_description():
    for option in constructor_options():
        assert option.help.split(" [")[0], f"{option.name} has no Args: entry in a docstring"
        assert option.type is not None
    runner = set(RUNNER)
    assert not runner & {option.name for option in constructor_options()}


def test_help_shows_the_derived_defaults_and_who_takes_an_option():
    option = next(option for option in constructor_options() if option.name == "n_qubits")
    assert "default 6, " in option.help and "hybrid_tiny" in option.help
    val_fraction = next(o for o in constructor_options() if o.name == "val_fraction")
    assert "synthetic: 0.25" in val_fraction.help  # the default the old help text omitted


def test_options_once_unreachable_are_set_from_the_command_line():
    config = build_parser().parse_args(
        ["--model", "quanv_tiny", "--stride", "1", "--data", "digits", "--test-fraction", "0.2"]
    )
    model_arguments, data_arguments = constructor_arguments(config)
    assert model_arguments == {"stride": 1}
    assert data_arguments == {"seed": 0, "test_fraction": 0.2}


@pytest.mark.parametrize(
    "argv",
    [["--deterministic"], ["--deterministic", "true"], ["--deterministic=true"]],
)
def test_a_boolean_option_accepts_the_bare_flag(argv):
    assert build_parser().parse_args(argv).deterministic is True
    assert build_parser().parse_args(["--freeze-backbone"]).freeze_backbone is True
    assert build_parser().parse_args(["--freeze-backbone", "false"]).freeze_backbone is False


def test_todays_flat_spelling_is_kept():
    config = build_parser().parse_args(["--model", "hybrid", "--n-qubits", "4", "--q-depth", "2"])
    model_arguments, _ = constructor_arguments(config)
    assert model_arguments == {"n_qubits": 4, "q_depth": 2, "arch": "small_cnn"}  # digits'


def test_an_option_no_chosen_constructor_takes_is_refused_with_those_that_do():
    config = build_parser().parse_args(["--model", "classical", "--n-qubits", "4"])
    with pytest.raises(TypeError, match=r"--n-qubits: model 'classical' does not take n_qubits "):
        constructor_arguments(config)
    config = build_parser().parse_args(["--data", "digits", "--crop-to-bbox"])
    with pytest.raises(TypeError, match=r"dataset 'digits' does not take crop_to_bbox \("):
        constructor_arguments(config)


def test_an_old_run_directorys_config_is_read_with_the_option_renamed(tmp_path):
    config = build_parser().parse_args(["--config", str(OLD_CONFIG)])
    assert config.precompute_features is True and "precompute_quanvolution" not in config
    config.cache_dir = str(tmp_path / "cache")
    datamodule, model = build(config)
    assert model.hparams.precompute_features is True
    features, _ = next(iter(datamodule.train_dataloader()))
    assert features.ndim == 4  # the cached quanvolution's (B, C * k**2, H', W')

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(OLD_CONFIG, run_dir / "config.yaml")
    (run_dir / "results.json").write_text('{"epochs": 2}')
    assert load_run(run_dir).config["precompute_features"] is True


def test_the_report_and_resume_read_the_runner_options():
    assert {"seed", "seeds", "output_dir", "logger", "num_workers", "cache_dir"} <= (
        logistics_options()
    )
    assert {"max_epochs", "model", "data", "devices"}.isdisjoint(logistics_options())
    assert {"data_dir", "cache_dir", "num_workers", "accelerator", "output_dir"} <= (
        resumable_options()
    )
    assert {"max_epochs", "seed", "logger", "model"}.isdisjoint(resumable_options())
    record = RunRecord(Path("run"), {"model": "hybrid", "seed": 3, "logger": "csv"}, {})
    assert dict(record.group_key) == {"model": '"hybrid"'}


def test_controls_are_declared_where_the_models_are_registered():
    assert MODELS.controls() == {
        "hybrid": (
            "hybrid_control",
            "hybrid_separable",
            "hybrid_control_matched",
            "hybrid_fourier",
        ),
        "hybrid_study": ("hybrid_study_control", "hybrid_study_separable", "hybrid_study_fourier"),
        "quanv": ("quanv_control",),
    }
    for controls in MODELS.controls().values():
        assert all(control in MODELS for control in controls)


PARTS = {
    "encoding": ENCODINGS,
    "entangler": ENTANGLERS,
    "q_init": INITIALISATIONS,
    "readout": READOUTS,
}


@pytest.mark.parametrize("argument", sorted(PARTS))
def test_an_option_naming_a_circuit_part_takes_the_registrys_names(argument, tmp_path, capsys):
    option = next(o for o in constructor_options() if o.name == argument)
    assert option.choices == tuple(PARTS[argument].names())
    flag = "--" + argument.replace("_", "-")
    listed = ", ".join(repr(name) for name in PARTS[argument].names())
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([flag, "bogus"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"error: argument {flag}: invalid choice: 'bogus' (choose from {listed})" in error
    path = tmp_path / "options.yaml"
    path.write_text(f"{argument}: bogus\n")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--config", str(path)])
    names = tuple(PARTS[argument].names())
    assert f"'bogus' not among choices {names!r}" in capsys.readouterr().err
    assert f"{flag} {{{','.join(PARTS[argument].names())}}}" in build_parser().format_help()


def test_a_part_registered_after_the_first_parser_is_a_choice_of_the_next(capsys):
    build_parser()

    @ENCODINGS.register("late_rz")
    class LateRZ(Encoding):
        def operations(self, inputs, wires):
            return [qml.AngleEmbedding(inputs, wires=wires, rotation="Z")]

    try:
        assert build_parser().parse_args(["--encoding", "late_rz"]).encoding == "late_rz"
    finally:
        ENCODINGS.unregister("late_rz")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--encoding", "late_rz"])
