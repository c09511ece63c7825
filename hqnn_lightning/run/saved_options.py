"""Options saved by older versions of the runner, read in today's terms.

- `RENAMED_OPTIONS`: older option names, read as their names now, from the command line, YAML
  files and run directories' ``config.yaml``.
- Identity blocks: before ``identity_blocks`` was an option, ``q_init: identity`` built a
  circuit with them and ``q_init: uniform`` or ``normal`` one without. A run directory's
  ``config.yaml`` that sets ``q_init`` but not ``identity_blocks`` is read so (`renamed` for
  its values, `parse_saved_options` through the parser), so that old runs resume, evaluate
  and report as before. The runner writes ``identity_blocks`` into every new ``config.yaml``
  that sets ``q_init`` (`options.RunnerParser.dump`), so a new one is never read so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from jsonargparse import ArgumentParser, Namespace

RENAMED_OPTIONS = {"precompute_quanvolution": "precompute_features"}
"""Older option name -> its name now; the old one is still read."""

Options = TypeVar("Options", Namespace, dict[str, Any])


def renamed(config: Options) -> Options:
    """``config`` (parsed options, or a saved ``config.yaml``) with its older option names
    (`RENAMED_OPTIONS`) replaced by their names now, and, for a saved one's values that set
    ``q_init`` but not ``identity_blocks``, ``identity_blocks`` as that ``q_init`` meant it;
    changed in place."""
    for old, new in RENAMED_OPTIONS.items():
        value = config.pop(old, None)
        if value is not None and config.get(new) is None:
            config[new] = value
    if isinstance(config, dict):
        blocks = identity_blocks_of_old_options(config)
        if blocks is not None:
            config["identity_blocks"] = blocks
    return config


def identity_blocks_of_old_options(saved: Mapping[str, Any]) -> bool | None:
    """What ``q_init`` meant for identity blocks in saved options that do not name
    ``identity_blocks``: ``True`` for ``identity``, ``False`` for any other; ``None`` when the
    options name ``identity_blocks`` or no ``q_init``."""
    if "identity_blocks" in saved or saved.get("q_init") is None:
        return None
    return saved["q_init"] == "identity"


def parse_saved_options(parser: ArgumentParser, path: Path, argv: Sequence[str] = ()) -> Namespace:
    """A run directory's ``config.yaml`` at ``path``, with ``argv`` over it, parsed by the
    runner's ``parser``, in today's terms (`identity_blocks_of_old_options` where neither the
    file nor ``argv`` sets ``identity_blocks``).

    Raises:
        OSError: the file cannot be read.
        yaml.YAMLError: it is not YAML.
    """
    config = parser.parse_args(["--config", str(path), *argv])
    saved = yaml.safe_load(path.read_text())
    blocks = identity_blocks_of_old_options(saved if isinstance(saved, dict) else {})
    if blocks is not None and "identity_blocks" in config and config.identity_blocks is None:
        config.identity_blocks = blocks
    return config
