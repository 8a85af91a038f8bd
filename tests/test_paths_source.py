"""book.paths (one home for every location) and book.show_source (one way to show code)."""

import os

import pytest

import book
from book import paths, source
from book.source import cuda_kernel_source, python_source


def test_root_is_the_repository():
    assert (paths.ROOT / "book" / "__init__.py").is_file() and (paths.ROOT / "_toc.yml").is_file()


def test_a_checkout_reads_the_kernels_from_the_repository_folder():
    """Readers edit ``cuda_src/`` of the repository; the installed copy is only for ``pip install``
    (tests/test_packaging.py builds a wheel for that case)."""
    assert paths.CHECKOUT
    assert paths.CUDA_SRC == paths.ROOT / "cuda_src" and any(paths.CUDA_SRC.glob("*.cu"))
    assert source.CUDA_DIR == paths.CUDA_SRC


def test_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("BOOK_RESULTS_DIR", str(tmp_path / "r"))
    assert paths.data_dir() == tmp_path / "d"
    assert paths.cache_dir("x", "y") == tmp_path / "c" / "x" / "y" and (tmp_path / "c" / "x" / "y").is_dir()
    assert paths.results_file("mnist") == tmp_path / "r" / "mnist.json"
    assert paths.scratch_dir("w").is_dir()
    assert paths.data_dir(tmp_path) == tmp_path  # an explicit root wins


def test_defaults_do_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("BOOK_DATA_DIR", raising=False)
    monkeypatch.delenv("BOOK_RESULTS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert paths.data_dir() == paths.ROOT / "data"
    assert paths.results_dir() == paths.ROOT / "results"


def test_a_file_where_a_folder_belongs_names_the_variable(tmp_path, monkeypatch):
    f = tmp_path / "file"
    f.write_text("x")
    monkeypatch.setenv("BOOK_DATA_DIR", str(f))
    with pytest.raises(paths.PathConfigError, match="BOOK_DATA_DIR=.* is a file"):
        paths.data_dir()
    monkeypatch.setenv("BOOK_CACHE_DIR", str(f))
    with pytest.raises(paths.PathConfigError, match="BOOK_CACHE_DIR"):
        paths.cache_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_cache_names_the_variable(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    monkeypatch.setenv("BOOK_CACHE_DIR", str(ro))
    with pytest.raises(paths.PathConfigError, match="read-only. Set BOOK_CACHE_DIR"):
        paths.cache_dir()


def test_read_only_cache_names_the_variable_even_as_root(tmp_path, monkeypatch):
    """As root nothing is read-only, so simulate the OS refusing to create the folder."""
    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "c"))

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(paths.Path, "mkdir", refuse)
    with pytest.raises(paths.PathConfigError, match="Permission denied.*Set BOOK_CACHE_DIR"):
        paths.cache_dir()


def _documented(x: int) -> int:
    """A docstring the chapter does not show."""
    return x + 1  # a comment it does show


def test_python_source_drops_the_docstring_only():
    src = python_source(_documented)
    assert src.startswith("def _documented(x: int) -> int:")
    assert "docstring" not in src and "# a comment it does show" in src
    shown = book.show_source(_documented)
    assert shown._repr_markdown_().startswith("```python\n") and repr(shown) == src


def test_cuda_kernel_with_its_comment(tmp_path):
    src = """// helper
__device__ float twice(float x) { return 2 * x; }

// the kernel: one thread per element
extern "C" __global__ void k(float* a, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) { a[i] = twice(a[i]); }  // braces { } in a comment
}
"""
    got = cuda_kernel_source(src, "k")
    assert got.startswith("// the kernel") and got.rstrip().endswith("}") and "twice(float x)" not in got
    assert cuda_kernel_source(src, "twice").startswith("// helper")
    with pytest.raises(KeyError, match="no definition of 'missing'"):
        cuda_kernel_source(src, "missing")


def test_show_source_reads_the_books_kernels():
    name = sorted(p.stem for p in (paths.ROOT / "cuda_src").glob("*.cu"))[0]
    whole = book.show_source(name)
    assert whole.language == "cuda" and "__global__" in whole.code
    with pytest.raises(FileNotFoundError, match="cuda_src"):
        book.show_source("no_such_kernel_file")
    with pytest.raises(TypeError, match="kernel= is for CUDA"):
        book.show_source(_documented, kernel="k")
