"""A run writes its checkpoints and files beside their targets and renames them over them, so a
kill or a full disk never leaves one empty or half-written, wherever ``$TMPDIR`` is; the
temporary files of a killed run are removed when it resumes; a full disk ends the command with
one line."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import lightning as L
import pytest
import torch

from hqnn_lightning.run import checkpoint_io
from hqnn_lightning.run.checkpoint_io import AtomicCheckpointIO
from hqnn_lightning.run.cli import main as run_main

TINY_RUN = ["--model", "classical_tiny", "--arch", "small_cnn", "--logger", "csv"]
RUN_FILES = {"config.yaml", "environment.json", "results.json", "confusion_matrix.csv"}


def partial_files(run_dir: Path) -> list[Path]:
    return [path for path in run_dir.rglob("*") if path.name.endswith(".partial")]


def recording(rename: Callable, renames: list[tuple[Path, Path]]) -> Callable:
    """``rename`` (``os.replace`` or ``os.rename``), appending each source and destination."""

    def spy(src, dst, **kwargs):
        renames.append((Path(src), Path(dst)))
        return rename(src, dst, **kwargs)

    return spy


@pytest.mark.slow
def test_every_checkpoint_and_run_file_is_renamed_from_beside_it_not_from_tmpdir(
    tmp_path, monkeypatch
):
    tmpdir = tmp_path / "tmpdir"  # $TMPDIR, on another filesystem in the fault this guards
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    renames: list[tuple[Path, Path]] = []
    for name in ("replace", "rename"):  # fsspec's shutil.move renames on one filesystem
        monkeypatch.setattr(os, name, recording(getattr(os, name), renames))
    argv = [*TINY_RUN, "--max-epochs", "1", "--output-dir", str(tmp_path / "runs")]
    (results,) = run_main(argv)
    run_dir = Path(results["run_dir"])
    for source, destination in renames:
        if destination.is_relative_to(run_dir):
            assert source.parent == destination.parent, f"{destination} came from {source}"
    renamed = {destination.name for _, destination in renames}
    assert {"last.ckpt", "best-epoch0.ckpt", "confusion_matrix.png", *RUN_FILES} <= renamed
    assert not partial_files(run_dir) and not any(tmpdir.iterdir())


def test_every_strategy_saves_through_the_plugin():
    for strategy in ("auto", "ddp", "ddp_spawn"):
        trainer = L.Trainer(
            accelerator="cpu",
            devices=2 if strategy.startswith("ddp") else 1,
            strategy=strategy,
            plugins=[AtomicCheckpointIO()],
            logger=False,
        )
        assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO), strategy


@pytest.mark.slow
def test_a_full_disk_keeps_the_last_checkpoint_and_ends_with_one_line_then_resumes(
    tmp_path, monkeypatch, capsys
):
    save = torch.save
    saves_of_last = []

    def disk_fills_during_the_second_last_ckpt(obj, file, *args, **kwargs):
        if "last.ckpt" in str(getattr(file, "name", "")):
            saves_of_last.append(file.name)
            if len(saves_of_last) == 2:
                file.write(b"\0" * 4096)  # part of it, then the disk is full
                raise OSError(errno.ENOSPC, "No space left on device")
        return save(obj, file, *args, **kwargs)

    monkeypatch.setattr(torch, "save", disk_fills_during_the_second_last_ckpt)
    argv = [*TINY_RUN, "--max-epochs", "2", "--checkpoint-interval", "0"]
    argv += ["--output-dir", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        run_main(argv)
    assert exit_info.value.code == 1
    (run_dir,) = tmp_path.iterdir()
    last = run_dir / "checkpoints" / "last.ckpt"
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1] == (
        f"error: no space left on device writing {last}; the previous checkpoint is intact. "
        "Free space and rerun with --resume last"
    )
    assert "Traceback" not in "\n".join(error)
    assert torch.load(last, weights_only=False)["epoch"] == 0  # epoch 0's, whole
    assert not partial_files(run_dir)

    monkeypatch.undo()
    stale = [run_dir / "checkpoints" / ".last.ckpt.4242-0a1b2c3d.partial"]
    stale.append(run_dir / ".results.json.4242-0a1b2c3d.partial")
    for path in stale:
        path.write_bytes(b"left by a kill -9")
    (results,) = run_main([*argv, "--resume", "last"])
    assert Path(results["run_dir"]) == run_dir and results["epochs"] == 2
    assert torch.load(last, weights_only=False)["epoch"] == 1
    assert not partial_files(run_dir)


class DiskFillsAfter:
    """A file whose disk fills after ``room`` bytes: from then on ``write`` raises ENOSPC,
    naming no file, as ``write(2)`` does on a full disk."""

    def __init__(self, file, room: int) -> None:
        self.file = file
        self.room = room

    def write(self, data) -> int:
        size = memoryview(data).nbytes
        if size > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= size
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()


@pytest.mark.parametrize("room", [0, 600, 5000])  # before, in and after the first tensor
def test_a_checkpoint_cut_short_by_a_full_disk_raises_the_oserror_naming_it(
    room, tmp_path, monkeypatch
):
    written = checkpoint_io.atomic_write

    @contextmanager
    def on_a_disk_that_fills(path, binary=False):
        with written(path, binary) as file:
            yield DiskFillsAfter(file, room)

    monkeypatch.setattr(checkpoint_io, "atomic_write", on_a_disk_that_fills)
    path = tmp_path / "last.ckpt"
    path.write_bytes(b"the previous checkpoint")
    with pytest.raises(OSError) as error:  # torch.save's own: RuntimeError, inline_container.cc
        AtomicCheckpointIO().save_checkpoint({"state_dict": {"w": torch.zeros(2000)}}, path)
    assert (error.value.errno, error.value.filename) == (errno.ENOSPC, str(path))
    assert path.read_bytes() == b"the previous checkpoint"
    assert not partial_files(tmp_path)
