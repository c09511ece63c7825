"""Where ``--resume`` continues: the run directory and checkpoint it names, or the newest run
of the command's model, data and seed (``--resume last``). Found from the files alone, without
importing Lightning, so that the command line refuses a resumption with nothing to resume
before importing the library; `hqnn_lightning.run.resume` checks the run's options and files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jsonargparse import Namespace

LAST = "last"
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
CONFIG_FILE = "config.yaml"


@dataclass(frozen=True)
class Resumption:
    """A run to continue.

    Args:
        run_dir: The run's directory; the resumed run writes into it.
        checkpoint: The checkpoint ``trainer.fit`` starts from.
    """

    run_dir: Path
    checkpoint: Path


def find_resumption(resume: str, output_dir: str | Path, run_prefix: str) -> Resumption:
    """The run and checkpoint that ``--resume`` names.

    Args:
        resume: ``"last"``, a run directory, or a checkpoint file inside a run directory's
            ``checkpoints/``.
        output_dir: Where ``"last"`` looks for run directories.
        run_prefix: ``"<model>-<data>-seed<seed>-"``: ``"last"`` takes the newest of
            `last_candidates` (`resumed_config` takes the newest run of the same options).

    Raises:
        FileNotFoundError: nothing to resume there; the message says what was looked for.
    """
    if resume == LAST:
        return last_candidates(output_dir, run_prefix)[0]
    path = Path(resume)
    if path.is_dir():
        checkpoint = path / LAST_CHECKPOINT
        if not checkpoint.is_file():
            raise FileNotFoundError(
                f"--resume {resume}: the run directory has no {LAST_CHECKPOINT}"
            )
        return Resumption(path, checkpoint)
    if path.is_file():
        run_dir = path.resolve().parents[1]
        if not (run_dir / CONFIG_FILE).is_file():
            raise FileNotFoundError(
                f"--resume {resume}: the checkpoint is not in a run directory's checkpoints/ "
                "(no config.yaml beside it); to train from its weights elsewhere, load them "
                "with the model's load_from_checkpoint"
            )
        return Resumption(run_dir, path)
    raise FileNotFoundError(f"--resume {resume}: no such run directory or checkpoint file")


def last_candidates(output_dir: str | Path, run_prefix: str) -> list[Resumption]:
    """The run directories under ``output_dir`` whose name starts with ``run_prefix`` and that
    hold ``checkpoints/last.ckpt``, the most recently saved first.

    Raises:
        FileNotFoundError: there is none.
    """
    checkpoints = [
        path / LAST_CHECKPOINT
        for path in Path(output_dir).glob(f"{run_prefix}*")
        if (path / LAST_CHECKPOINT).is_file()
    ]
    if not checkpoints:
        raise FileNotFoundError(
            f"--resume last: no run directory {Path(output_dir) / run_prefix}* holds "
            f"{LAST_CHECKPOINT}; pass the run directory or checkpoint to resume"
        )
    checkpoints.sort(key=lambda path: path.stat().st_mtime_ns, reverse=True)
    return [Resumption(path.parents[1], path) for path in checkpoints]


def run_prefix(config: Namespace) -> str:
    """``"<model>-<data>-seed<seed>-"``: how the names of ``config``'s run directories start."""
    return f"{config.model}-{config.data}-seed{config.seed}-"
