"""Options saved by older versions of the runner, read in today's terms.

- `RENAMED_OPTIONS` (`hqnn_lightning.experiment.options`): older option names, read as their
  names now, from the command line, YAML files and run directories' ``config.yaml``.
- `config_file_problem`: what is wrong with a file of options (``--config``, a run's
  ``config.yaml``), in one sentence that names it, before jsonargparse reads it.
- `may_set_callbacks`: whether a command line, or a ``--config`` file it names, may set
  ``--callbacks`` (whose type is Lightning's, so the parser needs Lightning only then).
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
from typing import TYPE_CHECKING, Any

import yaml
from jsonargparse import Namespace

from hqnn_lightning.experiment.options import identity_blocks_of_old_options

if TYPE_CHECKING:
    from hqnn_lightning.run.options import RunnerParser


def parse_saved_options(parser: RunnerParser, path: Path, argv: Sequence[str] = ()) -> Namespace:
    """A run directory's ``config.yaml`` at ``path``, with ``argv`` over it, parsed by the
    runner's ``parser``, in today's terms (`identity_blocks_of_old_options` where neither the
    file nor ``argv`` sets ``identity_blocks``). An option the file leaves unset keeps the
    model's own default, not the dataset's (`options.with_data_defaults`): runs made before
    datasets had model defaults recorded no ``arch`` for the model's ResNet-50.

    Raises:
        OSError: the file cannot be read.
        yaml.YAMLError: it is not YAML.
    """
    config = parser.parse_args(["--config", str(path), *argv], data_defaults=False)
    saved = yaml.safe_load(path.read_text())
    blocks = identity_blocks_of_old_options(saved if isinstance(saved, dict) else {})
    if blocks is not None and "identity_blocks" in config and config.identity_blocks is None:
        config.identity_blocks = blocks
    return config


CONFIG_FORMAT = "a file of YAML options, one 'name: value' per line (max_epochs: 5)"
"""What a file of options holds, as the messages of `config_file_problem` say it."""


def config_file_problem(path: Path, seen: frozenset[Path] = frozenset()) -> str | None:
    """Why ``path``, a file of options, cannot be read as one, in a sentence that names the
    file; ``None`` when it can (or does not exist: jsonargparse then reads the value as YAML
    text, or says the file does not exist). A ``config:`` in it names another such file,
    relative to its folder, which is checked too.

    Read with ``yaml.safe_load``, as jsonargparse reads it (a ``SafeLoader``): a Python tag
    (``!!python/object/apply:os.system``) is refused, never run.
    """
    if not path.exists() or path.resolve() in seen:
        return None  # a loop of config: files is jsonargparse's to name
    if path.is_dir():
        return f"{path} is a directory; --config takes {CONFIG_FORMAT}"
    if not path.is_file():  # a pipe or a device would never end
        return f"{path} is not a regular file; --config takes {CONFIG_FORMAT}"
    try:
        options = yaml.safe_load(path.read_bytes().decode())
    except OSError as error:
        return f"{path} cannot be read ({error.strerror})"
    except UnicodeDecodeError as error:
        return (
            f"{path} is not text (byte {error.object[error.start]:#04x} at offset "
            f"{error.start} is not UTF-8); --config takes {CONFIG_FORMAT}"
        )
    except yaml.YAMLError as error:
        return f"{path} is not a file of options: {_yaml_problem(error)}"
    if not isinstance(options, dict):
        return f"{path} holds {_yaml_kind(options)}; --config takes {CONFIG_FORMAT}"
    nested = options.get("config")
    if isinstance(nested, str):
        return config_file_problem(path.parent / nested, seen | {path.resolve()})
    return None


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's error in one line: what is wrong, and where (``line 3, column 8``)."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(error.problem or error.context).split())
        if isinstance(error, yaml.constructor.ConstructorError) and "python/" in problem:
            problem += " (options are plain YAML values; a Python tag is never run)"
        return f"{problem}{where}"
    return " ".join(str(error).split())


def _yaml_kind(value: Any) -> str:
    """``nothing (it is empty)``, ``a list, not options``, ``the int 42, not options``."""
    if value is None:
        return "nothing (it is empty)"
    if isinstance(value, list):
        return "a list, not options"
    return f"the {type(value).__name__} {value!r}, not options"


def may_set_callbacks(argv: Sequence[str] | None) -> bool:
    """Whether ``argv`` may set ``--callbacks``: by itself, or from a ``--config`` that may
    (`config_may_set_callbacks`); ``True`` when ``argv`` is not known. The ``config.yaml`` of
    the run that ``--resume`` continues or ``--evaluate`` reads is parsed after the checks,
    by a parser built for any command (``build_parser()``)."""
    if argv is None:
        return True
    for index, arg in enumerate(argv):
        if arg.startswith("--callbacks"):
            return True
        if arg.startswith("--config="):
            value: str | None = arg.partition("=")[2]
        else:
            value = argv[index + 1] if arg == "--config" and index + 1 < len(argv) else None
        if value is not None and config_may_set_callbacks(value):
            return True
    return False


def config_may_set_callbacks(value: str) -> bool:
    """Whether the ``--config`` ``value`` (a file, else YAML text, as jsonargparse reads it)
    may set ``--callbacks``: it has a ``callbacks`` key, or names another file (``config:``).
    Not when it cannot be read as options: the parser refuses it then."""
    path = Path(value)
    try:
        options = yaml.safe_load(path.read_bytes().decode() if path.is_file() else value)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(options, dict) and not {"callbacks", "config"}.isdisjoint(options)
