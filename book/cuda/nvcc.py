"""Compile kernels with ``nvcc -cubin --resource-usage`` (no driver needed) and parse registers / shared memory."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from book.files import write_text_atomic

_ENTRY = re.compile(r"Compiling entry function '(\w+)' for '(sm_\d+)'")
_USED = re.compile(r"Used (\d+) registers(?:, used \d+ barriers)?(?:, (\d+) bytes smem)?")
_STACK = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")


def available() -> bool:
    """Whether nvcc is on the PATH (chapter 03)."""
    return shutil.which("nvcc") is not None


def parse_resource_usage(text: str) -> list[dict]:
    """Rows ``{kernel, arch, registers, smem_bytes, stack_bytes, spill_bytes}`` from ptxas' ``info`` lines (chapter 03)."""
    rows, row = [], None
    for line in text.splitlines():
        m = _ENTRY.search(line)
        if m:
            row = {
                "kernel": m.group(1),
                "arch": m.group(2),
                "registers": None,
                "smem_bytes": 0,
                "stack_bytes": 0,
                "spill_bytes": 0,
            }
            rows.append(row)
            continue
        if row is None:
            continue
        m = _STACK.search(line)
        if m:
            row["stack_bytes"], row["spill_bytes"] = int(m.group(1)), int(m.group(2)) + int(m.group(3))
        m = _USED.search(line)
        if m:
            row["registers"], row["smem_bytes"] = int(m.group(1)), int(m.group(2) or 0)
    return rows


def resource_usage(cu_file: Any, arch: str = "sm_90", cache_dir: Any = None) -> list[dict]:
    """Compile ``cu_file`` to a cubin for ``arch``; return the parsed rows (cached per source + arch + nvcc) (chapter 03)."""
    if not available():
        raise FileNotFoundError("nvcc not found on PATH (install the CUDA toolkit)")
    cu_file = Path(cu_file)
    version = subprocess.run(["nvcc", "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256((cu_file.read_text() + arch + version).encode()).hexdigest()[:20]
    cached = None
    if cache_dir is None:
        from book.data import cache_dir as book_cache

        cache_dir = book_cache() / "nvcc"
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = cache_dir / f"{cu_file.stem}_{arch}_{key}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [
                "nvcc",
                "-cubin",
                f"-arch={arch}",
                "--resource-usage",
                "-o",
                str(Path(tmp) / "k.cubin"),
                str(cu_file),
            ],
            capture_output=True,
            text=True,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"nvcc failed for {cu_file.name} ({arch}):\n{proc.stderr}")
    rows = parse_resource_usage(proc.stdout + proc.stderr)
    for r in rows:
        r["file"] = cu_file.name
    write_text_atomic(cached, json.dumps(rows))
    return rows
