"""`read_checkpoint`: a file that is no checkpoint is named with what it is, never reported as
a crafted one, and a checkpoint's objects are read without running code."""

from __future__ import annotations

import pickle

import pytest
import torch

from hqnn_lightning.models.checkpoint_file import read_checkpoint


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": {"weight": torch.ones(2)}, "epoch": 1}, path)
    return path


def test_a_checkpoint_reads(checkpoint):
    assert read_checkpoint(checkpoint)["epoch"] == 1


@pytest.mark.parametrize(
    ("contents", "reason"),
    [
        (b"", "it is empty"),
        (b"garbage\n", "it is neither a torch.save archive nor a pickle"),
        (b"%PDF-1.4 not a checkpoint", "it is neither a torch.save archive nor a pickle"),
    ],
)
def test_a_file_that_is_no_checkpoint_says_what_it_is(tmp_path, contents, reason):
    path = tmp_path / "last.ckpt"
    path.write_bytes(contents)
    with pytest.raises(ValueError) as error:
        read_checkpoint(path)
    assert str(error.value).startswith(f"{path} is not a readable checkpoint: {reason}")


def test_a_checkpoint_cut_short_is_not_called_crafted(checkpoint):
    checkpoint.write_bytes(checkpoint.read_bytes()[:300])
    with pytest.raises(ValueError, match="is not a readable checkpoint: .*cut short"):
        read_checkpoint(checkpoint)


class _RunsCode:
    def __reduce__(self):
        return (print, ("code ran",))


def test_a_pickle_of_other_objects_is_refused_as_not_the_librarys(tmp_path, capsys):
    path = tmp_path / "crafted.ckpt"
    path.write_bytes(pickle.dumps({"state_dict": _RunsCode()}))
    with pytest.raises(ValueError, match="holds objects other than tensors and plain values"):
        read_checkpoint(path)
    assert "code ran" not in capsys.readouterr().out
