"""Packaging of the book: everything else is in pyproject.toml.

This file exists for one line that pyproject.toml cannot say: the CUDA kernels stay in the repository's
top-level ``cuda_src/`` (where readers and the chapter look for them) and ship in the wheel as the data
package ``book.cuda_src``, so that ``pip install git+<repository>`` gives a ``book`` that finds them
(``book.paths.CUDA_SRC``). ``tests/test_packaging.py`` builds a wheel and checks this.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["book", "book.*"], exclude=["*.__pycache__"]),
        "book.cuda_src",
    ],
    package_dir={"book.cuda_src": "cuda_src"},
)
