"""One way to show source code in a chapter: a Python object or a CUDA kernel, highlighted.

``book.show_source(book.train.fit)`` or ``book.show_source("reduce", kernel="reduce_warp")`` displays a
fenced code block (Markdown), which the site (MyST-NB) and the slides (nbconvert) both highlight. The
docstring of a Python object is left out: the prose of the chapter says what the code is for.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path

from .paths import CUDA_SRC

CUDA_DIR = CUDA_SRC  # the kernels of chapter 03 (book.paths is the home of the name)


def _strip_docstring(src: str) -> str:
    """Remove the docstring of the (first) function, class or module in ``src``."""
    tree = ast.parse(src)
    nodes = [
        tree,
        *[n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)],
    ]
    lines = src.splitlines(keepends=True)
    drop: set[int] = set()
    for node in nodes:
        body = getattr(node, "body", [])
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(getattr(body[0], "value", None), ast.Constant)
        ):
            if isinstance(body[0].value.value, str):
                drop.update(range(body[0].lineno - 1, body[0].end_lineno))
    return "".join(line for i, line in enumerate(lines) if i not in drop)


def python_source(obj: object, docstring: bool = False) -> str:
    """The source of a function, class or module, dedented, without its docstring unless asked. (ch. 02-07)"""
    src = textwrap.dedent(inspect.getsource(obj))
    return (src if docstring else _strip_docstring(src)).strip("\n")


def cuda_file(name: str | Path) -> Path:
    """``"reduce"``, ``"reduce.cu"`` or a path -> the ``.cu`` file (``cuda_src/`` by default). (03_cuda)"""
    path = Path(name)
    if path.suffix != ".cu":
        path = path.with_suffix(".cu")
    if not path.is_absolute() and not path.exists():
        path = CUDA_DIR / path.name
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CUDA_DIR.glob("*.cu")))
        raise FileNotFoundError(f"no CUDA file {path}; the book's kernels are in cuda_src/: {known}")
    return path


def _match_brace(src: str, open_at: int) -> int:
    """Index just past the brace that closes the one at ``open_at`` (comments and strings skipped)."""
    depth, i = 0, open_at
    while i < len(src):
        if src.startswith("//", i):
            i = src.find("\n", i)
            i = len(src) if i < 0 else i
        elif src.startswith("/*", i):
            i = src.find("*/", i) + 2
        elif src[i] in "\"'":
            q, i = src[i], i + 1
            while i < len(src) and src[i] != q:
                i += 2 if src[i] == "\\" else 1
        elif src[i] == "{":
            depth += 1
        elif src[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced braces in CUDA source")


def cuda_kernel_source(source: str, kernel: str, comments: bool = True) -> str:
    """The definition of function ``kernel`` in CUDA ``source``, with the comment lines right above it. (03_cuda)"""
    for m in re.finditer(r"\b" + re.escape(kernel) + r"\s*\(", source):
        # a definition: the text after the closing parenthesis of the parameters is `{`
        depth, j = 0, m.end() - 1
        while j < len(source):
            depth += {"(": 1, ")": -1}.get(source[j], 0)
            if depth == 0:
                break
            j += 1
        rest = source[j + 1 :].lstrip()
        if not rest.startswith("{"):
            continue
        start = source.rfind("\n", 0, m.start()) + 1
        if comments:  # include the comment / #define / template lines directly above
            lines = source[:start].splitlines(keepends=True)
            while lines and re.match(r"\s*(//|#define|template\b|\*|/\*)", lines[-1]):
                start -= len(lines.pop())
        end = _match_brace(source, source.index("{", j))
        return source[start:end]
    raise KeyError(f"no definition of {kernel!r} in this CUDA source")


class SourceCode:
    """Source text that displays as a highlighted code block (text/markdown) and prints as plain text. (ch. 02-07)"""

    def __init__(self, code: str, language: str):
        self.code, self.language = code, language

    def _repr_markdown_(self) -> str:
        return f"```{self.language}\n{self.code}\n```"

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:  # text/plain beside the Markdown: the code itself, so nbval checks it
        return self.code


def show_source(obj: object, kernel: str | list[str] | None = None, docstring: bool = False) -> SourceCode:
    """Show a Python object's source, or CUDA kernel(s) from ``cuda_src/`` (ch. 02-07).

    ``show_source(fn)`` / ``show_source(SomeClass)``: Python, without the docstring.
    ``show_source("reduce")``: a whole ``.cu`` file; ``show_source("reduce", kernel="reduce_warp")`` or
    ``kernel=[...]``: only those functions, each with the comment lines above it.
    A string that is not a file name is taken as CUDA source text itself.
    """
    if (
        isinstance(obj, str | Path)
        and kernel is None
        and not str(obj).lstrip().startswith(("//", "#", "__", "extern"))
    ):
        return SourceCode(cuda_file(obj).read_text(encoding="utf-8").strip("\n"), "cuda")
    if isinstance(obj, str | Path):
        text = str(obj)
        src = text if ("\n" in text or "{" in text) else cuda_file(text).read_text(encoding="utf-8")
        if kernel is None:
            return SourceCode(src.strip("\n"), "cuda")
        names = [kernel] if isinstance(kernel, str) else list(kernel)
        return SourceCode("\n\n".join(cuda_kernel_source(src, k).strip("\n") for k in names), "cuda")
    if kernel is not None:
        raise TypeError("kernel= is for CUDA sources; pass a file name such as 'reduce'")
    return SourceCode(python_source(obj, docstring=docstring), "python")
