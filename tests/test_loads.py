"""Loading never runs code: every call in the package and its scripts that reads a pickle
(a checkpoint, weights, a cache) says so explicitly, ``weights_only=True`` or
``allow_pickle=False``, and none calls a loader that cannot be made safe. Read with `ast`, so
that a call over several lines, or through an alias, is read as Python reads it."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest
import torch
import torchvision

from hqnn_lightning.models.backbones import _download_imagenet_state_dict
from tests.run.test_resume import Payload

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("hqnn_lightning", "experiments")

NEEDS_WEIGHTS_ONLY = {"torch.load", "torch.hub.load_state_dict_from_url"}
"""Loaders, by qualified name, that must be given ``weights_only=True``."""

METHODS_NEEDING_WEIGHTS_ONLY = {
    "load_from_checkpoint",  # a LightningModule's
    "load_state_dict_from_url",
    "get_state_dict",  # torchvision's weights enums: load_state_dict_from_url
}
"""Loaders, by method name whatever the object, that must be given ``weights_only=True``."""

TRAINER_LOADS = {"fit", "validate", "test", "predict"}
"""Trainer methods that load ``ckpt_path`` when given one: they need ``weights_only=True``."""

NEEDS_NO_PICKLE = {"numpy.load"}
"""Loaders that must be given ``allow_pickle=False``."""

NEVER = {
    "pickle.load",
    "pickle.loads",
    "pickle.Unpickler",
    "dill.load",
    "cloudpickle.load",
    "joblib.load",
    "pandas.read_pickle",
    "torch.hub.load",  # imports and runs the repository's hubconf.py
    "torch.jit.load",
    "yaml.unsafe_load",
    "yaml.load",  # yaml.safe_load reads plain values only
    "shelve.open",
    "marshal.load",
    "marshal.loads",
}
"""Loaders that can run the file's code whatever they are given."""


def qualified_names(tree: ast.Module) -> dict[str, str]:
    """Each name the module imports, mapped to what it names (``np`` → ``numpy``)."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def dotted(node: ast.expr, names: dict[str, str]) -> str | None:
    """The qualified name of ``np.load``-like callees; ``None`` for others."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([names.get(node.id, node.id), *reversed(parts)])


def keyword_is(call: ast.Call, name: str, value: bool) -> bool:
    return any(
        keyword.arg == name
        and isinstance(keyword.value, ast.Constant)
        and keyword.value.value is value
        for keyword in call.keywords
    )


def unsafe_loads(source: str, filename: str = "<source>") -> list[str]:
    """``FILE:LINE: CALL: why`` for each load in ``source`` that could run a file's code."""
    tree = ast.parse(source, filename)
    names = qualified_names(tree)
    found = []
    for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
        name = dotted(call.func, names) or ""
        method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        problem = None
        if name in NEVER:
            problem = "can run the file's code whatever it is given"
        elif name in NEEDS_NO_PICKLE and not keyword_is(call, "allow_pickle", False):
            problem = "needs allow_pickle=False"
        elif (
            name in NEEDS_WEIGHTS_ONLY
            or method in METHODS_NEEDING_WEIGHTS_ONLY
            or (method in TRAINER_LOADS and _loads_a_checkpoint(call))
        ) and not keyword_is(call, "weights_only", True):
            problem = "needs weights_only=True"
        if problem:
            found.append(f"{filename}:{call.lineno}: {name or method}: {problem}")
    return found


def _loads_a_checkpoint(call: ast.Call) -> bool:
    return any(
        keyword.arg == "ckpt_path"
        and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is None)
        for keyword in call.keywords
    )


def test_no_load_in_the_package_or_its_scripts_can_run_code():
    files = sorted(path for folder in SCANNED for path in (ROOT / folder).rglob("*.py"))
    assert len(files) > 50
    found = [
        problem
        for path in files
        for problem in unsafe_loads(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import torch\ntorch.load(path)", ["<source>:2: torch.load: needs weights_only=True"]),
        ("import torch\ntorch.load(\n    path,\n    weights_only=True,\n)", []),
        ("import torch\ntorch.load(path, weights_only=False)", ["needs weights_only=True"]),
        ("from torch import load as read\nread(path)", ["torch.load: needs weights_only=True"]),
        ("import numpy as np\nnp.load(path)", ["numpy.load: needs allow_pickle=False"]),
        ("import numpy as np\nnp.load(path, mmap_mode='r', allow_pickle=False)", []),
        ("Model.load_from_checkpoint(\n    path, map_location='cpu'\n)", ["<source>:1:"]),
        ("MODELS.get(name).load_from_checkpoint(path, weights_only=True)", []),
        ("trainer.test(model, ckpt_path='best')", ["test: needs weights_only=True"]),
        ("trainer.fit(model, ckpt_path=None)", []),
        ("weights.get_state_dict(progress=True)", ["get_state_dict: needs weights_only=True"]),
        ("import pickle\npickle.loads(data)", ["pickle.loads: can run the file's code"]),
        ("import torch\ntorch.hub.load('repo', 'model')", ["torch.hub.load: can run"]),
        ("import yaml\nyaml.safe_load(text)", []),
        ("import safetensors.torch\nsafetensors.torch.load_file(path)", []),
    ],
)
def test_the_check_reads_calls_as_python_does(source, expected):
    found = unsafe_loads(source)
    assert len(found) == len(expected), found
    for line, wanted in zip(found, expected, strict=True):
        assert wanted in line


def test_a_crafted_file_where_torchvisions_weights_are_cached_does_not_run(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weights = torchvision.models.get_model_weights("resnet18")
    weights = getattr(weights, "IMAGENET1K_V2", weights.IMAGENET1K_V1)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    cached.parent.mkdir(parents=True)
    marker = tmp_path / "code-ran"
    torch.save({"conv1.weight": torch.zeros(1), "payload": Payload(marker)}, cached)
    with pytest.raises(pickle.UnpicklingError):
        _download_imagenet_state_dict("resnet18")
    assert not marker.exists()
