"""Run PyCUDA's tutorial snippets and example scripts on the emulator; print one JSON line per script.

Used by tests/test_cuda_pycuda_compat.py: ``python tests/pycuda_compat/run_all.py [names...]``.
"""

import contextlib
import io
import json
import re
import runpy
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
THIRD_PARTY = re.compile(
    r"^\s*(?:import|from)\s+(cupy|numba|cgen|codepy|jinja2|scipy|pyfft|matplotlib|pylab|OpenGL|Image|ImageTk|"
    r"tkinter|enthought|Cheetah|pytools|PIL)\b",
    re.M,
)


# not run: allocates all the memory mem_get_info reports free (the host's RAM here) and fills it
SKIP = {
    "fill_gpu_with_nans.py": "allocates all free memory (on the emulator: the host's RAM)",
    "from-wiki/simple_speed_test.py": "a speed test: 8e8 sinf per kernel takes minutes on a CPU",
}


def tutorial_snippets() -> list[tuple[str, str]]:
    """The Python code blocks of tutorial.rst (not output blocks, not the CuPy/Numba interop ones)."""
    text = (HERE / "tutorial.rst").read_text()
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].rstrip().endswith("::") and "print something like" not in lines[i]:
            j, body = i + 1, []
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith(" ")):
                body.append(lines[j])
                j += 1
            code = "\n".join(body)
            indent = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
            code = "\n".join(b[indent:] for b in body).strip("\n")
            if code and not THIRD_PARTY.search(code) and not code.lstrip().startswith("["):
                blocks.append((f"tutorial block {len(blocks) + 1} (line {i + 2})", code))
            i = j
        else:
            i += 1
    return blocks


def examples() -> list[Path]:
    """The example scripts that need no third-party package."""
    return sorted(p for p in (HERE / "examples").rglob("*.py") if not THIRD_PARTY.search(p.read_text()))


def main() -> None:
    """Install the shim, run everything, print a JSON line per item."""
    from book.cuda import emulator, pycuda_shim

    emulator.configure(watchdog_s=20)
    pycuda_shim.install()
    wanted = set(sys.argv[1:])
    import struct

    ns: dict = {"__name__": "__main__", "struct": struct}  # the struct snippet uses it without importing it
    for name, code in tutorial_snippets():
        t = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, name, "exec"), ns)
            ok, err = True, ""
        except BaseException as e:  # noqa: BLE001
            ok, err = False, f"{type(e).__name__}: {e}"[:300]
        print(json.dumps({"name": name, "ok": ok, "error": err, "s": round(time.perf_counter() - t, 2)}), flush=True)
    for p in examples():
        rel = str(p.relative_to(HERE / "examples"))
        if wanted and rel not in wanted:
            continue
        if rel in SKIP:
            print(json.dumps({"name": rel, "ok": False, "error": f"not run: {SKIP[rel]}", "s": 0}), flush=True)
            continue
        t = time.perf_counter()
        argv = sys.argv
        try:
            sys.argv = [str(p)]
            with contextlib.redirect_stdout(io.StringIO()):
                runpy.run_path(str(p), run_name="__main__")
            ok, err = True, ""
        except SystemExit as e:
            ok, err = e.code in (None, 0), f"SystemExit({e.code})"
        except BaseException as e:  # noqa: BLE001
            tb = traceback.extract_tb(e.__traceback__)
            where = next((f"line {f.lineno}" for f in reversed(tb) if f.filename == str(p)), "")
            ok, err = False, f"{type(e).__name__}: {e} {where}"[:300]
        finally:
            sys.argv = argv
        print(json.dumps({"name": rel, "ok": ok, "error": err, "s": round(time.perf_counter() - t, 2)}), flush=True)


if __name__ == "__main__":
    main()
