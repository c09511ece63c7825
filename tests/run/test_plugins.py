"""Models and circuit parts registered outside the package, found by the runner: ``--import``
and the ``hqnn_lightning.plugins`` entry points."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hqnn_lightning.run.cli import main
from hqnn_lightning.run.options import build_parser
from hqnn_lightning.run.plugins import (
    PLUGIN_GROUP,
    PluginError,
    appended_imports,
    load_entry_points,
    modules_to_import,
)

ROOT = Path(__file__).resolve().parents[2]

RESEARCHERS_MODULE = '''
"""A researcher's own file: a ring of CZ gates and a hybrid variant that uses it."""
import pennylane as qml

from hqnn_lightning.models import MODELS, HybridVQC
from hqnn_lightning.quantum import ENTANGLERS, Entangler


@ENTANGLERS.register("cz_ring")
class CZRing(Entangler):
    min_wires = 2

    def shape(self, n_layers, n_wires):
        return n_layers, n_wires

    def layer(self, weights, index, wires):
        rotations = [qml.RY(weights[i], wires=wire) for i, wire in enumerate(wires)]
        ring = [qml.CZ(wires=[wires[i], wires[(i + 1) % len(wires)]]) for i in range(len(wires))]
        return rotations + ring


MODELS.register(
    "cz_hybrid", arch="small_cnn", n_qubits=3, q_depth=2, entangler="cz_ring",
    q_device="default.qubit",
)(HybridVQC)
'''

INSTALLED_MODULE = '''
"""An installed package's module, found through its entry point."""
import pennylane as qml

from hqnn_lightning.quantum import ENCODINGS, Encoding


@ENCODINGS.register("hadamard_rz")
class HadamardRZ(Encoding):
    def operations(self, inputs, wires):
        return [qml.Hadamard(w) for w in wires] + [
            qml.AngleEmbedding(inputs, wires=wires, rotation="Z")
        ]
'''

RUNNER = """
import contextlib, io, json, sys
from hqnn_lightning.run.cli import main
from hqnn_lightning.run.options import build_parser

with contextlib.redirect_stdout(io.StringIO()) as help_text, contextlib.suppress(SystemExit):
    main(["--import", "researchers_parts", "--help"])
with contextlib.redirect_stdout(io.StringIO()):
    (result,) = main(sys.argv[1:])
print(json.dumps({"help": help_text.getvalue(), "run_dir": result["run_dir"]}))
"""


def write_plugins(folder: Path) -> None:
    """A module to ``--import`` and an installed distribution with an entry point."""
    (folder / "researchers_parts.py").write_text(textwrap.dedent(RESEARCHERS_MODULE))
    (folder / "installed_parts.py").write_text(textwrap.dedent(INSTALLED_MODULE))
    dist_info = folder / "installed_parts-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: installed-parts\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text(f"[{PLUGIN_GROUP}]\nparts = installed_parts\n")


def test_a_researchers_model_and_parts_are_found_by_the_runner(tmp_path):
    write_plugins(tmp_path)
    argv = ["--import", "researchers_parts", "--model", "cz_hybrid", "--encoding", "hadamard_rz"]
    argv += ["--data", "synthetic", "--samples-per-class", "8", "--num-classes", "2"]
    argv += ["--channels", "1", "--max-epochs", "1", "--logger", "csv"]
    argv += ["--monitor-trainability", "false", "--progress-bar", "false"]
    argv += ["--output-dir", str(tmp_path / "runs")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    completed = subprocess.run(
        [sys.executable, "-c", RUNNER, *argv], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    output = json.loads(completed.stdout.strip().splitlines()[-1])
    assert "cz_hybrid" in output["help"]
    assert "--entangler {basic,cz_ring,separable,strong}" in output["help"]
    assert "{hadamard_ry,hadamard_rz,rx,ry}" in output["help"]  # the entry point's
    saved = (Path(output["run_dir"]) / "config.yaml").read_text()
    assert "import:\n- researchers_parts\n" in saved
    assert "encoding: hadamard_rz\n" in saved and "entangler" not in saved  # the variant's


def test_a_module_that_fails_to_import_is_named_in_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "broken_parts.py").write_text("raise RuntimeError('the lab is closed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        main(["--import", "broken_parts", "--output-dir", str(tmp_path / "runs")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        "error: --import broken_parts: the module failed to import: "
        "RuntimeError: the lab is closed (see --help)\n"
    )
    assert not (tmp_path / "runs").exists()


def test_an_entry_point_that_fails_to_import_is_named(monkeypatch):
    broken = importlib.metadata.EntryPoint("lab", "no_such_module_of_the_lab", PLUGIN_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken])
    with pytest.raises(PluginError, match="entry point 'lab' .no_such_module_of_the_lab. failed"):
        load_entry_points.__wrapped__()


def test_the_modules_asked_for(tmp_path):
    config = tmp_path / "options.yaml"
    config.write_text("import: [from_yaml]\n")
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.ckpt").touch()
    (run_dir / "config.yaml").write_text("model: hybrid\ndata: digits\nimport:\n- of_the_run\n")
    argv = ["--import", "a", "--import=b", "--import", "[c,a]", "--config", str(config)]
    argv += ["--resume", str(run_dir / "checkpoints" / "last.ckpt")]
    assert modules_to_import(argv) == ["a", "b", "c", "from_yaml", "of_the_run"]
    assert modules_to_import([]) == [] and appended_imports([]) == []
    assert modules_to_import(["--resume", "last"]) == []  # no run named: nothing to read
    assert appended_imports(["--import=a", "--import=[b]"]) == ["--import+=a", "--import+=[b]"]
    assert appended_imports(["--import", "a", "--seed", "1"]) == ["--import+", "a", "--seed", "1"]


def test_the_parser_records_every_module_in_config_yaml():
    parser = build_parser()
    config = parser.parse_args(["--import", "a", "--import=b", "--import", "[c]"])
    assert config["import"] == ["a", "b", "c"]
    assert "import:\n- a\n- b\n- c\n" in parser.dump(config)
