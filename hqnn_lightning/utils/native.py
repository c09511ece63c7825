"""Small C kernels of the package: compiled on first use, cached, called through ctypes.

A kernel is one C source file in the package (no torch headers, so it builds in about a
second with the system compiler, ``$CC`` or ``cc``). The shared library lands in
``$HQNN_LIGHTNING_KERNEL_DIR`` (default ``~/.cache/hqnn_lightning/kernels``) under a name that
hashes the source, the flags, the compiler's version and the CPU's features, so an edit, a new
compiler or another machine sharing the folder builds its own copy. The library's SHA-256 is
written beside it after it (``NAME.so.sha256``) and checked before each load, so a library cut
short, zeroed or overwritten is built again (with a warning naming it), never loaded. ctypes
releases the GIL during a call, so `run_in_threads` spreads work over
``torch.get_num_threads()`` threads. Without a working compiler `build_library` returns
``None`` (with one warning) and callers keep their pure-torch path.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from hqnn_lightning.utils.files import write_text_atomically

CACHE_ENV = "HQNN_LIGHTNING_KERNEL_DIR"


def kernel_directory() -> Path:
    """Where compiled kernels are cached."""
    default = Path.home() / ".cache" / "hqnn_lightning" / "kernels"
    return Path(os.environ.get(CACHE_ENV, default))


def cpu_features() -> str:
    """The CPU's feature flags (``-march=native`` depends on them), else its description."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build_library(
    name: str,
    source: Path,
    flags: Sequence[str],
    variants: Sequence[Sequence[str]] = ((),),
) -> ctypes.CDLL | None:
    """Compiles ``source`` once per entry of ``variants`` (extra compiler arguments, such as
    ``-D`` defines) and links the objects into one cached shared library.

    Returns:
        The loaded library, or ``None`` (after a warning naming the reason) when there is no
        compiler or the build fails.
    """
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        warnings.warn(
            f"no C compiler found ($CC or cc): {name} uses its slower pure-torch path",
            stacklevel=2,
        )
        return None
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    recipe = [source.read_text(), *flags, *(" ".join(v) for v in variants), version]
    key = hashlib.sha256("\n".join([*recipe, cpu_features()]).encode()).hexdigest()[:16]
    target = kernel_directory() / f"{name}-{key}.so"
    try:
        damage = _library_damage(target)
        if damage is not None:
            if target.exists():
                warnings.warn(f"cached kernel {target} {damage}; building it again", stacklevel=2)
            target.parent.mkdir(parents=True, exist_ok=True)
            _compile(compiler, source, flags, variants, target)
        return ctypes.CDLL(str(target))
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or error
        warnings.warn(
            f"building the {name} kernel failed ({detail}); using the pure-torch path",
            stacklevel=2,
        )
        return None


def _compile(
    compiler: str,
    source: Path,
    flags: Sequence[str],
    variants: Sequence[Sequence[str]],
    target: Path,
) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        objects = []
        for index, extra in enumerate(variants):
            obj = Path(scratch) / f"{index}.o"
            command = [compiler, *flags, *extra, "-c", str(source), "-o", str(obj)]
            subprocess.run(command, check=True, capture_output=True, text=True)
            objects.append(str(obj))
        # Linked without -ffast-math: with it, GCC < 13 links crtfastmath.o into shared
        # libraries, which would flush denormals to zero for the whole process on load.
        library = Path(scratch) / target.name
        subprocess.run(
            [compiler, "-shared", *objects, "-o", str(library), "-lm"],
            check=True,
            capture_output=True,
            text=True,
        )
        digest = _sha256(library)
        os.replace(library, target)  # atomic: concurrent builders never see half a file
        write_text_atomically(_digest_file(target), digest)


def _digest_file(library: Path) -> Path:
    """Where the SHA-256 of ``library`` is kept, written after the library itself."""
    return library.with_name(library.name + ".sha256")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _library_damage(library: Path) -> str | None:
    """Why the cached ``library`` must be built (again), or ``None`` when its bytes are those
    its build recorded: a library cut short, zeroed or overwritten would fail to load, or load
    and compute something else, so it is never loaded unchecked (a few dozen KiB to hash)."""
    try:
        recorded = _digest_file(library).read_text().strip()
    except OSError:
        return "has no recorded checksum (built by an older version, or its build was stopped)"
    try:
        if _sha256(library) != recorded:
            return "does not match the checksum recorded when it was built"
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    return None


def run_in_threads(total: int, work: Callable[[int, int, int], None]) -> None:
    """Calls ``work(begin, end, thread)`` on contiguous slices of ``range(total)``, one slice per
    thread of ``torch.get_num_threads()`` (at most ``total``; ``thread`` counts from 0, for
    per-thread buffers), the first on this thread."""
    threads = max(1, min(torch.get_num_threads(), total))
    bounds = [total * t // threads for t in range(threads + 1)]
    helpers = [
        threading.Thread(target=work, args=(bounds[t], bounds[t + 1], t)) for t in range(1, threads)
    ]
    for helper in helpers:
        helper.start()
    work(bounds[0], bounds[1], 0)
    for helper in helpers:
        helper.join()
