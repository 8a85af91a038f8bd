"""Public functions and classes of `book/` (issue 10, item 8): type hints, and a docstring whose first
line says what it does and names the chapter(s) that use it (e.g. "(ch. 05)", "05_lenet", "第5章")."""

import importlib
import inspect
import pkgutil
import re

import pytest

import book

CHAPTER = re.compile(r"\b0\d[a-z]?(?:\b|_[a-z])|\bch(apter)?s?\.?\s*0?\d|第.{1,3}章|\ball chapters\b", re.I)
SKIP_MODULES = {"book.cuda.emu_runtime"}


def _public_objects():
    for info in pkgutil.walk_packages(book.__path__, "book."):
        if info.name in SKIP_MODULES:
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{module.__name__}.{name}", obj


OBJECTS = sorted(_public_objects(), key=lambda t: t[0])


@pytest.mark.parametrize("name,obj", OBJECTS, ids=[n for n, _ in OBJECTS])
def test_docstring_names_a_chapter(name, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return  # an error's docstring says when it is raised; it is used wherever that happens
    assert CHAPTER.search(doc.split("\n\n")[0]), (
        f"{name}: the docstring's summary names no chapter: {doc[:80]!r}"
    )


@pytest.mark.parametrize(
    "name,obj",
    [(n, o) for n, o in OBJECTS if inspect.isfunction(o)],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_functions_have_type_hints(name, obj):
    sig = inspect.signature(obj)
    missing = [
        p.name
        for p in sig.parameters.values()
        if p.annotation is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    assert not missing, f"{name}: parameters without type hints: {missing}"
    assert sig.return_annotation is not inspect.Signature.empty, f"{name}: no return type hint"
