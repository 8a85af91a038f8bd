"""Where things live: the one home for the repository root, results, caches, data and scratch folders.

Every other module and every notebook asks here instead of computing paths itself, so that a notebook
run from any working directory (Jupyter, nbval, Colab, ``torchrun``) finds the same folders.
Environment variables override the defaults; a bad value raises an error that names the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE: Path = Path(__file__).resolve().parent
"""The installed ``book`` package."""

ROOT: Path = PACKAGE.parent
"""The repository root (the folder holding ``book/``, ``chapters/`` and ``cuda_src/``) in a checkout; the
folder that holds the package (e.g. ``site-packages``) when the book is installed with ``pip install``."""

CHECKOUT: bool = (ROOT / "pyproject.toml").is_file() and (ROOT / "cuda_src").is_dir()
"""True in a clone of the repository (or an editable install), False in a ``pip install`` of the book."""

CUDA_SRC: Path = ROOT / "cuda_src" if CHECKOUT else PACKAGE / "cuda_src"
"""The CUDA C kernels shared by PyCUDA and the emulator (chapter 03); the one place that names their folder.

In a checkout it is the repository's ``cuda_src/`` (where readers look); a wheel ships the same files as
the data package ``book.cuda_src`` (``setup.py`` maps the folder into the package).
"""

_USER_HOME: Path = Path.home() / ".cache" / "ai-programming-book"

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
    """Datasets are read from ``root``, else ``$BOOK_DATA_DIR``, else ``<repo>/data`` (chapters 02, 05-07).

    Installed with ``pip`` (no checkout), the default is ``~/.cache/ai-programming-book/data``.
    """
    if root is not None:
        return _usable_dir(Path(root).expanduser(), "the data root", create=False, writable=False)
    default = ROOT / "data" if CHECKOUT else _USER_HOME / "data"
    return _usable_dir(_from_env(DATA_ENV, default), DATA_ENV, create=False, writable=False)


def cache_dir(*parts: str) -> Path:
    """A writable cache folder (``$BOOK_CACHE_DIR``, else ``~/.cache/ai-programming-book``), created. (ch. 03b, 05, 06)"""
    base = _usable_dir(_from_env(CACHE_ENV, _USER_HOME), CACHE_ENV, True, True)
    return _usable_dir(base.joinpath(*parts), CACHE_ENV, create=True, writable=True) if parts else base


def results_dir() -> Path:
    """Measured full-mode results: ``results/*.json`` of a checkout (``$BOOK_RESULTS_DIR`` overrides). (ch. 03, 05-07)"""
    return _from_env(RESULTS_ENV, ROOT / "results" if CHECKOUT else _USER_HOME / "results")


def results_dir_from_env() -> bool:
    """True when ``$BOOK_RESULTS_DIR`` names the results folder (a smoke run then writes there as is)."""
    return bool(os.environ.get(RESULTS_ENV, "").strip())


def results_file(name: str) -> Path:
    """``results/<name>.json``: the file a benchmark writes and a chapter renders. (ch. 03, 05-07, via book.results)"""
    return results_dir() / (name if name.endswith(".json") else f"{name}.json")


def scratch_dir(name: str) -> Path:
    """A per-topic scratch folder under the cache (e.g. the distributed chapter's worker scripts), created. (ch. 05, 06, 07)

    It does not depend on the working directory, so a notebook and a test write to the same place.
    """
    return cache_dir("scratch", name)
