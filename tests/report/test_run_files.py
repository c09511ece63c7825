"""Run files the report cannot read are named, their run skipped; a full disk ends with one
line (issue 26 items 3 and 5)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from hqnn_lightning.report import RunWarning, find_runs, load_run
from tests.report.test_report import ROOT, report_main, write_monitored_run
from tests.small_disk import needs_small_disks, run_on_small_disk

PYTHON_TAG = b"model: hybrid\nx: !!python/object/apply:os.system ['echo ran']\n"
FAULTS = {
    "truncated results.json": ("results.json", b'{"model": "hyb', "is truncated or corrupt"),
    "empty results.json": ("results.json", b"", "is truncated or corrupt: Expecting value"),
    "results.json holding a list": ("results.json", b"[1, 2]", "holds no JSON object"),
    "config.yaml with a Python tag": ("config.yaml", PYTHON_TAG, "yaml.safe_load does not load"),
    "binary config.yaml": ("config.yaml", b"\xff\xfe\x00\x01\n", "it is not UTF-8 text"),
    "config.yaml holding a list": ("config.yaml", b"- 1\n", "it names no model"),
    "config.yaml with a seed that is none": ("config.yaml", b"model: a\nseed: x\n", "seed is 'x'"),
    "truncated config.yaml": ("config.yaml", b"model: hybrid\nseed: 0\nda", "middle of a line"),
    "truncated metrics.csv": ("csv/metrics.csv", b"epoch,step\n0,1\n1,", "middle of a line"),
    "corrupt metrics.csv": ("csv/metrics.csv", b"epoch,val/loss\n0,0.1\nx\x00,2\n", "'x\\x00'"),
    "metrics.csv without epochs": ("csv/metrics.csv", b"step\n1\n", "no 'epoch' column"),
    "corrupt test_predictions.csv": (
        "test_predictions.csv",
        b"index,label,prediction,correct_top5\n0,1,zz,1\n",
        "test_predictions.csv is truncated or corrupt: could not convert string 'zz'",
    ),
    "no config.yaml": ("config.yaml", None, "config.yaml not found"),
}


def break_file(run_dir: Path, name: str, contents: bytes | None) -> Path:
    """Replaces ``run_dir/name`` with ``contents`` (``None``: removes it); returns its path."""
    path = run_dir / name
    if contents is None:
        path.unlink()
    else:
        path.write_bytes(contents)
    return path


@pytest.mark.parametrize("fault", FAULTS)
def test_a_run_with_an_unreadable_file_is_skipped_naming_the_file(tmp_path: Path, fault) -> None:
    name, contents, reason = FAULTS[fault]
    for seed in (0, 1):
        write_monitored_run(tmp_path / f"hybrid-seed{seed}", "hybrid", seed, ["classifier"])
    path = break_file(tmp_path / "hybrid-seed0", name, contents)
    with pytest.raises((ValueError, FileNotFoundError)) as raised:
        load_run(tmp_path / "hybrid-seed0")
    assert str(raised.value).startswith(str(path)) and reason in str(raised.value)
    with pytest.warns(RunWarning) as caught:
        runs = find_runs([tmp_path])
    assert [run.run_dir.name for run in runs] == ["hybrid-seed1"]
    [message] = [str(warning.message) for warning in caught]
    assert message.startswith(f"{path} ")
    assert message.endswith(f"; run {tmp_path / 'hybrid-seed0'} skipped")


def test_the_report_goes_on_without_the_unreadable_runs(tmp_path: Path, capsys) -> None:
    for seed in (0, 1, 2):
        write_monitored_run(tmp_path / "runs" / f"hybrid-seed{seed}", "hybrid", seed, ["c"])
    tag = break_file(tmp_path / "runs" / "hybrid-seed0", "config.yaml", PYTHON_TAG)
    cut = break_file(tmp_path / "runs" / "hybrid-seed1", "results.json", b'{"model": "hy')
    (tmp_path / "runs" / "search").mkdir()
    search = break_file(tmp_path / "runs" / "search", "tuning.json", b'{"config": {')

    report = report_main([str(tmp_path / "runs"), "--output", str(tmp_path / "report")])
    text = report.read_text()
    assert "| hybrid | 1 |" in text
    err = capsys.readouterr().err
    assert "Traceback" not in err and "ran" not in err.split()  # the tag's code did not run
    for path in (tag, cut, search):
        [warning] = [line for line in err.splitlines() if str(path) in line]
        assert warning.startswith(f"warning: {path} ")
        assert f"- {warning.removeprefix('warning: ')}" in text  # listed under Runs left out


def test_no_readable_run_is_one_error_line(tmp_path: Path, capsys) -> None:
    write_monitored_run(tmp_path / "hybrid-seed0", "hybrid", 0, ["classifier"])
    path = break_file(tmp_path / "hybrid-seed0", "config.yaml", PYTHON_TAG)
    with pytest.raises(SystemExit) as exit_info:
        report_main([str(tmp_path), "--output", str(tmp_path / "report")])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"warning: {path} holds what yaml.safe_load does not load")
    assert lines[-1] == (
        f"error: no readable run under {tmp_path}: "
        "the 1 run directory found could not be read (warnings above) (see --help)"
    )
    assert not (tmp_path / "report").exists()


def test_an_output_that_is_a_file_is_named(tmp_path: Path, capsys) -> None:
    write_monitored_run(tmp_path / "hybrid-seed0", "hybrid", 0, ["classifier"])
    (tmp_path / "report").write_text("notes")
    with pytest.raises(SystemExit) as exit_info:
        report_main([str(tmp_path / "hybrid-seed0"), "--output", str(tmp_path / "report")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" not in err
    assert err.splitlines()[-1] == (
        f"error: --output {tmp_path / 'report'}: is a file, not a directory (see --help)"
    )


@pytest.mark.slow  # 15 s on 2 busy cores, most of it importing torch in the subprocess
@needs_small_disks
def test_a_full_disk_ends_with_one_line_and_no_partial_file(tmp_path: Path) -> None:
    for seed in (0, 1):
        write_monitored_run(tmp_path / "runs" / f"hybrid-seed{seed}", "hybrid", seed, ["c"])
    disk, after = tmp_path / "disk", tmp_path / "after"
    disk.mkdir(), after.mkdir()
    command = [sys.executable, str(ROOT / "experiments" / "report.py"), str(tmp_path / "runs")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    result = run_on_small_disk(
        [*command, "--output", str(disk / "report")], disk, 24 * 1024, after=after, env=env
    )
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: no space left on device writing {disk / 'report'}/")
    assert last.endswith("; no file was left half-written. Free space and rerun the command")
    assert "Traceback" not in result.stderr
    written = list((after / "report").iterdir())
    assert not [path for path in written if path.name.endswith(".partial")]
    for path in written:  # whole figures or none
        assert path.suffix == ".png" and path.read_bytes().endswith(b"IEND\xaeB`\x82")
