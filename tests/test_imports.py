"""Importing the library's core loads neither the runner's command line (jsonargparse) nor
the experiment loggers (wandb) nor any plotting of its own (matplotlib), each checked in a
fresh interpreter; and every name the package root exports is importable from it."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import hqnn_lightning

HEAVY = ("jsonargparse", "matplotlib", "wandb")
CORE = ("hqnn_lightning", "hqnn_lightning.quantum", "hqnn_lightning.models", "hqnn_lightning.data")
LOADED = """
import json, sys
import {module}
print(json.dumps({{
    "loaded": sorted(name for name in sys.modules if name.split(".")[0] in {heavy!r}),
    "own": {{
        name: module.__file__
        for name, module in list(sys.modules.items())
        if name.startswith("hqnn_lightning") and getattr(module, "__file__", None)
    }},
}}))
"""


def loaded_by(module: str) -> dict:
    """What ``import module`` loads in a fresh interpreter: the heavy libraries' modules
    and the package's own modules with their files."""
    code = LOADED.format(module=module, heavy=HEAVY)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    return json.loads(result.stdout.splitlines()[-1])


def top_level_imports(path: str) -> set[str]:
    """The top-level packages a module imports when it is imported (not inside functions)."""
    tree = ast.parse(Path(path).read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", CORE)
def test_importing_the_core_loads_no_command_line_logger_or_plotting(module):
    loaded = loaded_by(module)
    # PennyLane's drawer and torchmetrics (which Lightning imports) load matplotlib
    # themselves when it is installed, so matplotlib is checked in the package's own modules.
    assert not [name for name in loaded["loaded"] if name.split(".")[0] != "matplotlib"]
    importers = {
        name: sorted(top_level_imports(path) & set(HEAVY)) for name, path in loaded["own"].items()
    }
    assert {name: heavy for name, heavy in importers.items() if heavy} == {}
    assert "hqnn_lightning.run" not in loaded["own"]


def test_the_check_sees_a_module_that_imports_them():
    from hqnn_lightning.report import figures
    from hqnn_lightning.run import options

    assert top_level_imports(options.__file__) & set(HEAVY) == {"jsonargparse"}
    assert top_level_imports(figures.__file__) & set(HEAVY) == {"matplotlib"}


@pytest.mark.parametrize("name", hqnn_lightning.__all__)
def test_every_exported_name_imports_from_the_root(name):
    assert getattr(hqnn_lightning, name) is not None


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'evaluate'"):
        hqnn_lightning.evaluate  # noqa: B018
