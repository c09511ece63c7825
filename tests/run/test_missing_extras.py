"""A missing optional package, on the command line (issue 29 item 5): one ``error:`` line that
names the package and the ``pip install`` that brings it, exit 2, before any work."""

from __future__ import annotations

import importlib.machinery
import socket
import sys
import types
from pathlib import Path

import pennylane as qml
import pytest

from hqnn_lightning.run.cli import main
from hqnn_lightning.run.loggers import logger_package_problem
from tests.run.cli_errors import error_line


def refusal(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The CLI's one error line for ``argv`` (`error_line`), which must exit with 2 and start
    no run."""
    runs = tmp_path / "runs"
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--output-dir", str(runs)])
    assert exit_info.value.code == 2
    assert not runs.exists() or not any(runs.iterdir())
    return error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("logger", "modules"), [("wandb", ["wandb"]), ("tensorboard", ["tensorboard", "tensorboardX"])]
)
def test_a_logger_without_its_package(logger, modules, tmp_path, capsys, monkeypatch):
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)  # not installed
    line = refusal(["--model", "hybrid_tiny", "--logger", logger], tmp_path, capsys)
    assert (
        line == f"error: --logger {logger} needs the {modules[0]} package: pip install {modules[0]}"
    )


def test_either_tensorboard_package_is_enough(monkeypatch):
    tensorboard_x = types.ModuleType("tensorboardX")
    tensorboard_x.__spec__ = importlib.machinery.ModuleSpec("tensorboardX", None)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    monkeypatch.setitem(sys.modules, "tensorboardX", tensorboard_x)
    assert logger_package_problem("tensorboard") is None
    assert logger_package_problem("csv") is None


def test_a_device_without_its_plugin(tmp_path, capsys, monkeypatch):
    monkeypatch.delitem(qml.plugin_devices, "lightning.gpu", raising=False)
    argv = ["--model", "hybrid_tiny", "--q-device", "lightning.gpu", "--logger", "csv"]
    assert refusal(argv, tmp_path, capsys) == (
        "error: quantum device 'lightning.gpu' needs the pennylane-lightning-gpu package: "
        "pip install 'hqnn_lightning[gpu]'"
    )


def test_download_without_datasets_asks_no_network(tmp_path, capsys, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the network was asked before the package")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setitem(sys.modules, "datasets", None)  # not installed
    argv = ["--data", "stanford_cars", "--data-dir", str(tmp_path / "cars"), "--download", "true"]
    argv += ["--model", "classical_tiny", "--logger", "csv", "--cache-dir", str(tmp_path)]
    assert refusal(argv, tmp_path, capsys) == (
        "error: --download true (download=True) needs the datasets package: "
        "pip install 'hqnn_lightning[download]'"
    )
