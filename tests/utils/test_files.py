"""Files are written beside their target and renamed over it: the old file or the whole new
one, never half of one, and no temporary file left behind, even by a killed process."""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile

import pytest

from hqnn_lightning.utils.files import (
    CACHE_LOCK_NAME,
    atomic_write,
    cache_directory_lock,
    remove_partial_files,
    write_text_atomically,
)


def test_the_file_is_replaced_whole_and_nothing_is_left_beside_it(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("old")
    assert write_text_atomically(path, "new") == path
    assert path.read_text() == "new"
    assert [entry.name for entry in tmp_path.iterdir()] == ["results.json"]


def test_the_temporary_file_is_beside_the_target_not_in_tmpdir(tmp_path, monkeypatch):
    elsewhere = tmp_path / "tmpdir"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    renames = []
    replace = os.replace
    monkeypatch.setattr(
        os, "replace", lambda src, dst: renames.append((src, dst)) or replace(src, dst)
    )
    target = tmp_path / "out" / "last.ckpt"
    target.parent.mkdir()
    with atomic_write(target, binary=True) as file:
        file.write(b"weights")
    ((source, destination),) = renames
    assert source.parent == target.parent and source.name.endswith(".partial")
    assert destination == target and target.read_bytes() == b"weights"
    assert not any(elsewhere.iterdir())


def test_a_write_that_fails_half_way_keeps_the_old_contents_and_no_temporary_file(tmp_path):
    path = tmp_path / "report.md"
    path.write_text("old")
    with pytest.raises(OSError, match="No space left") as raised, atomic_write(path) as file:
        file.write("half of the new")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(path)  # the file the user knows, not the temporary one
    assert path.read_text() == "old"
    assert [entry.name for entry in tmp_path.iterdir()] == ["report.md"]


def test_temporary_names_differ_between_writes(tmp_path):
    names = set()
    for text in ("a", "b"):
        with atomic_write(tmp_path / "x.json") as file:
            names.add(file.name)
            file.write(text)
    assert len(names) == 2


def test_a_killed_writers_temporary_files_are_removed_and_nothing_else(tmp_path):
    stale = [tmp_path / ".last.ckpt.4242-0a1b2c3d.partial", tmp_path / ".results.json.partial"]
    kept = [tmp_path / "last.ckpt", tmp_path / ".hidden", tmp_path / "notes.partial"]
    for path in stale + kept:
        path.write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".a.partial").write_text("x")  # not below the directory
    assert sorted(remove_partial_files(tmp_path)) == sorted(stale)
    assert all(path.exists() for path in kept) and (tmp_path / "sub" / ".a.partial").exists()


class TestCacheDirectoryLock:
    """Partial files and directories of killed cache builds are removed at the next start,
    unless another process is building in the directory."""

    @pytest.fixture
    def abandoned(self, tmp_path):
        paths = [
            tmp_path / ".images-0a1b.u8.4242-0a1b2c3d.partial",
            tmp_path / "images-0a1b.u8.partial-4242",  # named before the lock
            tmp_path / ".unreadable-0a1b.json.4242-0a1b2c3d.partial",
        ]
        for path in paths:
            path.write_bytes(b"x" * 10)
        for name in (".features-0a1b.4242-0a1b2c3d.partial", "quanv-0a1b.partial-4242"):
            (tmp_path / name).mkdir()
            (tmp_path / name / "features.npy").write_bytes(b"x")
            paths.append(tmp_path / name)
        return paths

    def test_they_are_removed_and_nothing_else(self, tmp_path, abandoned):
        kept = [tmp_path / "images-0a1b.u8", tmp_path / "notes.partial", tmp_path / "sub"]
        kept[0].write_bytes(b"x")
        kept[1].write_bytes(b"x")
        kept[2].mkdir()
        (kept[2] / ".a.u8.1-2.partial").write_text("x")  # not below the directory
        with cache_directory_lock(tmp_path) as removed:
            assert sorted(removed) == sorted(abandoned)
            assert not any(os.path.lexists(path) for path in abandoned)
        assert all(path.exists() for path in kept) and (kept[2] / ".a.u8.1-2.partial").exists()

    def test_they_are_kept_while_another_process_holds_the_lock(self, tmp_path, abandoned):
        with open(tmp_path / CACHE_LOCK_NAME, "a") as other:  # another open file: another holder
            fcntl.flock(other, fcntl.LOCK_SH)
            with cache_directory_lock(tmp_path) as removed:
                assert removed == []
            assert all(path.exists() for path in abandoned)
        with cache_directory_lock(tmp_path) as removed:
            assert len(removed) == len(abandoned)

    def test_a_directory_that_cannot_be_made_is_read_without_a_lock(self, tmp_path):
        """As a read-only one (the lock file cannot be made there); a build then raises the
        OSError of its first write."""
        (tmp_path / "file").write_text("x")
        with cache_directory_lock(tmp_path / "file" / "cache") as removed:
            assert removed == []
