"""The decoded-image cache built by several processes at once (seeds side by side, DDP ranks)."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

from hqnn_lightning.data import image_cache
from hqnn_lightning.data.image_files import ImageSample
from hqnn_lightning.utils.files import CACHE_LOCK_NAME
from tests.data.car_files import write_image

IMAGE_SIZE = 16


def cache_files(directory):
    """The names in ``directory`` but its lock file."""
    return sorted(path.name for path in directory.iterdir() if path.name != CACHE_LOCK_NAME)


def build_after_both_started(samples, cache_dir, barrier, errors) -> None:
    """Builds the cache; every process waits, at its second image, until all have begun, so
    their builds overlap."""
    load_rgb = image_cache.load_rgb

    def load_when_all_started(path, bbox):
        if path == samples[1].path:
            barrier.wait(timeout=60)
        return load_rgb(path, bbox)

    image_cache.load_rgb = load_when_all_started
    try:
        image_cache.build_image_cache(samples, IMAGE_SIZE, cache_dir)
    except Exception as error:  # reported to the parent, which asserts there were none
        errors.put(f"{type(error).__name__}: {error}")


def test_processes_building_the_same_cache_at_once_all_succeed(tmp_path):
    samples = [ImageSample(tmp_path / f"{i}.jpg", "car") for i in range(4)]
    for index, sample in enumerate(samples):
        write_image(sample.path, seed=index)
    context = multiprocessing.get_context("fork")
    barrier, errors = context.Barrier(2), context.Queue()
    workers = [
        context.Process(
            target=build_after_both_started, args=(samples, tmp_path / "cache", barrier, errors)
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    reported = [errors.get(timeout=5) for _ in range(errors.qsize())]
    assert reported == [] and [worker.exitcode for worker in workers] == [0, 0]
    assert cache_files(tmp_path / "cache") == [
        f"images-{image_cache.cache_key(samples, IMAGE_SIZE)}.u8"
    ]
    built = image_cache.build_image_cache(samples, IMAGE_SIZE, tmp_path / "cache")
    alone = image_cache.build_image_cache(samples, IMAGE_SIZE, tmp_path / "alone")
    np.testing.assert_array_equal(built, alone)


def test_a_failed_build_leaves_no_partial_file(tmp_path):
    samples = [ImageSample(tmp_path / "missing.jpg", "car")]
    with pytest.raises(OSError):
        image_cache.build_image_cache(samples, IMAGE_SIZE, tmp_path / "cache")
    assert cache_files(tmp_path / "cache") == []
