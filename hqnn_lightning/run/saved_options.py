"""Options saved by older versions of the runner, read in today's terms.

- `RENAMED_OPTIONS` (`hqnn_lightning.experiment.options`): older option names, read as their
  names now, from the command line, YAML files and run directories' ``config.yaml``.
- Identity blocks: before ``identity_blocks`` was an option, ``q_init: identity`` built a
  circuit with them and ``q_init: uniform`` or ``normal`` one without. A run directory's
  ``config.yaml`` that sets ``q_init`` but not ``identity_blocks`` is read so (`renamed` for
  its values, `parse_saved_options` through the parser), so that old runs resume, evaluate
  and report as before. The runner writes ``identity_blocks`` into every new ``config.yaml``
  that sets ``q_init`` (`options.RunnerParser.dump`), so a new one is never read so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from jsonargparse import ArgumentParser, Namespace

from hqnn_lightning.experiment.options import identity_blocks_of_old_options


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
