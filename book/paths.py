"""Where things live: the one home for the repository root, results, caches, data and scratch folders.

Every other module and every notebook asks here instead of computing paths itself, so that a notebook
run from any working directory (Jupyter, nbval, Colab, ``torchrun``) finds the same folders.
Environment variables override the defaults; a bad value raises an error that names the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT: Path = Path(__file__).resolve().parent.parent
"""The repository root (the folder holding ``book/``, ``chapters/`` and ``cuda_src/``)."""

CUDA_SRC: Path = ROOT / "cuda_src"
"""The CUDA C kernels shared by PyCUDA and the emulator (chapter 03); the one place that names their folder."""

DATA_ENV = "BOOK_DATA_DIR"
CACHE_ENV = "BOOK_CACHE_DIR"
RESULTS_ENV = "BOOK_RESULTS_DIR"


class PathConfigError(RuntimeError):
    """A folder named by an environment variable is unusable; the message says which and what to do."""


def _from_env(var: str, default: Path) -> Path:
    raw = os.environ.get(var, "").strip()
    return Path(raw).expanduser() if raw else default


def _usable_dir(path: Path, var: str, create: bool, writable: bool) -> Path:
    """Return ``path`` as a folder, creating it if asked; raise :class:`PathConfigError` naming ``var``."""
    if path.exists() and not path.is_dir():
        raise PathConfigError(
            f"{var}={path} is a file, not a folder. Point {var} at a folder (or unset it to use the default)."
        )
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise PathConfigError(
                f"cannot create the folder {path} ({e.strerror}). Set {var} to a folder you can write to."
            ) from e
    if writable and path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
        raise PathConfigError(f"the folder {path} is read-only. Set {var} to a folder you can write to.")
    return path


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """Datasets are read from ``root``, else ``$BOOK_DATA_DIR``, else ``<repo>/data`` (chapters 02, 05-07)."""
    if root is not None:
        return _usable_dir(Path(root).expanduser(), "the data root", create=False, writable=False)
    return _usable_dir(_from_env(DATA_ENV, ROOT / "data"), DATA_ENV, create=False, writable=False)


def cache_dir(*parts: str) -> Path:
    """A writable cache folder (``$BOOK_CACHE_DIR``, else ``~/.cache/ai-programming-book``), created. (ch. 03b, 05, 06)"""
    base = _usable_dir(
        _from_env(CACHE_ENV, Path.home() / ".cache" / "ai-programming-book"), CACHE_ENV, True, True
    )
    return _usable_dir(base.joinpath(*parts), CACHE_ENV, create=True, writable=True) if parts else base


def results_dir() -> Path:
    """Measured full-mode results (``results/*.json``, committed; ``$BOOK_RESULTS_DIR`` overrides). (ch. 03, 05-07, via book.results)"""
    return _from_env(RESULTS_ENV, ROOT / "results")


def results_file(name: str) -> Path:
    """``results/<name>.json``: the file a benchmark writes and a chapter renders. (ch. 03, 05-07, via book.results)"""
    return results_dir() / (name if name.endswith(".json") else f"{name}.json")


def scratch_dir(name: str) -> Path:
    """A per-topic scratch folder under the cache (e.g. the distributed chapter's worker scripts), created. (ch. 05, 06, 07)

    It does not depend on the working directory, so a notebook and a test write to the same place.
    """
    return cache_dir("scratch", name)
