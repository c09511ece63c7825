"""A full disk or quota anywhere in a command of ``experiments/run.py`` ends it with one line
that names the file, exit status 1, no traceback and no partial file: on a real small
filesystem (`tests.small_disk`), at sizes that make each of a run's files the one that fails,
and with the `OSError` a cache writer raises while the DataModule is set up."""

from __future__ import annotations

import errno
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch

from hqnn_lightning.data import DATAMODULES
from hqnn_lightning.data.index_cache import DEFAULT_CACHE_DIR
from hqnn_lightning.run.cli import main as run_main
from hqnn_lightning.run.disk_full import disk_full_message, file_written
from tests.run.test_atomic_files import partial_files
from tests.small_disk import needs_small_disks, run_on_small_disk

ROOT = Path(__file__).resolve().parents[2]
RUN = ["--model", "hybrid_tiny", "--data", "digits", "--max-epochs", "1", "--logger", "csv"]
PAGE = 4096
"""tmpfs counts whole pages: a file of 1 to 4096 bytes takes one."""


def command_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Runs the CLI on ``argv``, checks it exits with 1 and no traceback, and returns its last
    line on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        run_main(argv)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def setup_raising(error: OSError):
    def setup(self, stage: str | None = None) -> None:
        raise error

    return setup


class TestWhileTheDataModuleBuildsItsCaches:
    """Before any training (`run.build`): the cache writers raise `OSError` naming the
    cache's file."""

    def test_a_cache_under_cache_dir(self, tmp_path, monkeypatch, capsys):
        cache = tmp_path / "cache" / "images-0123abcd.u8"
        error = OSError(errno.ENOSPC, "No space left on device", str(cache))
        monkeypatch.setattr(DATAMODULES.get("digits"), "setup", setup_raising(error))
        argv = ["--model", "quanv_tiny", "--precompute-features", "true", "--data", "digits"]
        argv += ["--output-dir", str(tmp_path / "runs"), "--cache-dir", str(cache.parent)]
        assert command_error(argv, capsys) == (
            f"error: no space left on device writing {cache}; the cache was not kept. Free "
            "space (or --cache-dir elsewhere) and rerun the command"
        )
        assert not (tmp_path / "runs").exists()

    def test_a_quota_in_the_default_cache_dir(self, tmp_path, monkeypatch, capsys):
        cache = DEFAULT_CACHE_DIR / "features-0123abcd.partial-42" / "features.npy"
        error = OSError(errno.EDQUOT, os.strerror(errno.EDQUOT), str(cache))
        monkeypatch.setattr(DATAMODULES.get("digits"), "setup", setup_raising(error))
        argv = [*RUN, "--output-dir", str(tmp_path / "runs")]
        assert command_error(argv, capsys) == (
            f"error: disk quota exceeded writing {cache}; the cache was not kept. Free space "
            "(or --cache-dir elsewhere) and rerun the command"
        )

    def test_another_os_error_is_not_taken_for_a_full_disk(self, tmp_path, monkeypatch):
        error = OSError(errno.EIO, "Input/output error", str(tmp_path / "cache.u8"))
        monkeypatch.setattr(DATAMODULES.get("digits"), "setup", setup_raising(error))
        with pytest.raises(OSError) as raised:
            run_main([*RUN, "--output-dir", str(tmp_path / "runs")])
        assert raised.value is error


class TestTheFileIsNamed:
    def test_from_the_file_open_for_writing_when_the_error_names_none(self, tmp_path):
        path = tmp_path / "csv" / "metrics.csv"
        path.parent.mkdir()
        try:
            with open(path, "w") as file:
                file.write("epoch,step\n")
                raise OSError(errno.ENOSPC, "No space left on device")  # as write() raises it
        except OSError as error:
            assert file_written(error) == path
            assert disk_full_message(error) == (
                f"no space left on device writing {path}; it is written in place, so it may "
                "end cut short. Free space and rerun the command"
            )

    def test_not_at_all(self):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as error:
            assert file_written(error) is None
            assert disk_full_message(error).startswith(
                "no space left on device (the file being written is not known). Free space and "
                "rerun the command"
            )


def run_on_disk_of(tmp_path: Path, pages: int, *options: str, filler: int = 0):
    """``experiments/run.py`` with ``RUN`` and ``options``, its output directory a tmpfs of
    ``pages`` pages of which ``filler`` bytes are taken; returns the finished process, the
    disk's path and a copy of what it held at the end."""
    disk, after, contents = tmp_path / "disk", tmp_path / "after", tmp_path / "contents"
    for directory in (disk, after, contents):
        directory.mkdir()
    if filler:
        (contents / "filler").write_bytes(b"\0" * filler)
    command = [sys.executable, str(ROOT / "experiments" / "run.py"), *RUN, *options]
    command += ["--output-dir", str(disk)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    result = run_on_small_disk(command, disk, pages * PAGE, contents=contents, after=after, env=env)
    return result, disk, after


def the_run(after: Path) -> str:
    (run_dir,) = [path.name for path in after.iterdir() if path.name.startswith("hybrid_tiny")]
    return run_dir


KEPT = "no file was left half-written. Free space and rerun"
IN_PLACE = "it is written in place, so it may end cut short. Free space and rerun"


@needs_small_disks
@pytest.mark.slow
@pytest.mark.parametrize(
    ("pages", "filler", "failing", "then"),
    [
        (1, PAGE, "config.yaml", f"{KEPT} the command"),
        (4, 0, "csv/metrics.csv", f"{IN_PLACE} the command"),  # Lightning's CSV logger
        (148, 0, "results.json", f"{KEPT} with --resume last"),
    ],
)
def test_a_real_full_disk_ends_the_run_with_one_line_naming_the_file(
    pages, filler, failing, then, tmp_path
):
    result, disk, after = run_on_disk_of(tmp_path, pages, "--progress-bar", "false", filler=filler)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    run_dir = disk / the_run(after)
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: no space left on device writing {run_dir / failing}; {then}"
    )
    assert not partial_files(after)


@needs_small_disks
@pytest.mark.slow
def test_a_real_full_disk_mid_checkpoint_keeps_the_last_one_and_resume_last_finishes(tmp_path):
    # Step checkpoints every 3 steps: the second last.ckpt fills the disk half-way, where
    # torch.save's zip writer raised a RuntimeError (inline_container.cc) in the OSError's place.
    every_3_steps = ["--checkpoint-every-n-steps", "3", "--progress-bar", "false"]
    result, disk, after = run_on_disk_of(tmp_path, 112, *every_3_steps)
    run_dir = disk / the_run(after)
    last = run_dir / "checkpoints" / "last.ckpt"
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: no space left on device writing {last}; the previous checkpoint is intact. "
        "Free space and rerun with --resume last"
    )
    assert not partial_files(after)
    shutil.copytree(after, disk, dirs_exist_ok=True)  # the same paths, on a disk with room
    assert torch.load(last, weights_only=True)["global_step"] == 3
    (results,) = run_main([*RUN, *every_3_steps, "--output-dir", str(disk), "--resume", "last"])
    assert Path(results["run_dir"]) == run_dir and results["epochs"] == 1
