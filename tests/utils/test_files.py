"""write_text_atomically leaves the old file or the whole new one, and no temporary file."""

from __future__ import annotations

import pytest

from hqnn_lightning.utils.files import write_text_atomically


def test_the_file_is_replaced_whole_and_nothing_is_left_beside_it(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("old")
    assert write_text_atomically(path, "new") == path
    assert path.read_text() == "new"
    assert [entry.name for entry in tmp_path.iterdir()] == ["results.json"]


def test_a_failed_write_keeps_the_old_contents(tmp_path, monkeypatch):
    path = tmp_path / "report.md"
    path.write_text("old")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pathlib.Path.write_text", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomically(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old"
