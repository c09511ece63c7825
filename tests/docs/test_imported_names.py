"""Every ``from hqnn_lightning... import NAME`` of the documentation's code imports."""

from __future__ import annotations

import importlib
import re

import pytest

from tests.docs.snippets import snippets

IMPORT = re.compile(r"from (hqnn_lightning[\w.]*) import ([\w, ]+)")
IMPORTED = sorted(
    {
        (module, name.strip())
        for snippet in snippets()
        for module, names in IMPORT.findall(snippet.text)
        for name in names.split(",")
        if name.strip()
    }
)


def test_the_docs_import_from_the_root():
    assert ("hqnn_lightning", "DigitsDataModule") in IMPORTED


@pytest.mark.parametrize(("module", "name"), IMPORTED, ids=[".".join(pair) for pair in IMPORTED])
def test_documented_import_works(module, name):
    assert getattr(importlib.import_module(module), name) is not None


@pytest.mark.parametrize(
    "name",
    [
        "StanfordCarsDataModule",
        "VMMRdbDataModule",
        "CombinedCarsDataModule",
        "HybridControl",
        "ConvControlNet",
    ],
)
def test_names_the_docs_use_import_from_the_root(name):
    from hqnn_lightning import __all__ as exported

    assert name in exported
    assert getattr(importlib.import_module("hqnn_lightning"), name) is not None
