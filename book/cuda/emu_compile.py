"""Compiling CUDA C for the emulator: the source rewriter, the g++ compile cache, ``SourceModule``.

``SourceModule`` rewrites what g++ cannot take as it is (``extern __shared__`` arrays, static ``__shared__``
variables, ``__device__`` variables, ``k<<<g, b>>>(...)`` in device code, ``return`` in a kernel) and
compiles the result with ``emu_runtime.h`` once per source hash (a fast build, and a sanitizer build with
GCC's address-sanitizer hooks). Launching is ``emu_launch``'s.
"""

from __future__ import annotations

import ctypes
import hashlib
import mmap
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .emu_driver import _LIVE, OPTIONS, CompileError, DeviceAllocation, LogicError, _Region
from .emu_launch import Function

HEADER = Path(__file__).with_name("emu_runtime.h")
INCLUDE = Path(__file__).with_name("include")  # pycuda-complex.hpp, pycuda-helpers.hpp
CXXFLAGS = ["-O2", "-shared", "-fPIC", "-std=c++17", "-w", "-fno-strict-aliasing", "-fstack-clash-protection"]
SANITIZE_FLAGS = [
    "-O0",  # keeps a load and its store separate, so random interleaving can show a lost update
    "-fsanitize=kernel-address",
    "--param",
    "asan-instrumentation-with-call-threshold=0",
    "--param",
    "asan-stack=0",
    "--param",
    "asan-globals=0",
]


# ----------------------------------------------------------------------------- compiling
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_STRINGS = re.compile(r'"(?:\\.|[^"\\\n])*"')
_DYN_SHARED_RE = re.compile(
    r"extern\s+__shared__\s+((?:__align__\s*\(\s*\d+\s*\)\s*)?[A-Za-z_][\w\s:<>,]*?)\s+(\w+)\s*\[\s*\]\s*;"
)
# a static ``__shared__`` declaration inside a function: ``__shared__ float s[64][65];``
_STATIC_SHARED_RE = re.compile(
    r"(?<![\w])__shared__\s+((?:__align__\s*\(\s*\d+\s*\)\s*)?(?:(?:const|volatile|unsigned|signed|long|short)\s+)*"
    r"[A-Za-z_][\w:]*(?:\s*<[^;{}()]*?>)?)\s+(\w+)\s*((?:\[[^\]]*\]\s*)*);"
)
_DEVICE_VAR_RE = re.compile(r"(?<![\w])__device__(\s+[^;(){}]*?\b\w+\s*(?:\[[^\]]*\]\s*)*(?:=[^;]*)?;)")


def _blank(src: str) -> str:
    """``src`` with comments and string literals replaced by spaces (positions kept)."""
    spaces = lambda m: re.sub(r"[^\n]", " ", m.group(0))  # noqa: E731
    return _STRINGS.sub(spaces, _COMMENTS.sub(spaces, src))


def _depth_at(clean: str, pos: int) -> int:
    return clean.count("{", 0, pos) - clean.count("}", 0, pos)


def _split_params(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "(<[":
            depth += 1
        elif ch in ")>]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return [p.strip() for p in out if p.strip() and p.strip() != "void"]


@dataclass
class KernelDecl:
    """A ``__global__`` function found in the source: its name, parameter names, C linkage, template (chapter 03)."""

    name: str
    params: list[str]
    c_linkage: bool
    template: bool


def find_kernels(source: str, wrapped: bool = False) -> dict[str, KernelDecl]:
    """Every ``__global__`` function of ``source`` (names and parameter names; types come from g++) (chapter 03)."""
    clean = _blank(source)
    c_blocks = [
        (m.end(), _matching_brace(clean, m.end() - 1)) for m in re.finditer(r'extern\s+"C"\s*\{', source)
    ]
    kernels: dict[str, KernelDecl] = {}
    for m in re.finditer(r"\b__global__\b", clean):
        rest = clean[m.end() :]
        rest_nolb = re.sub(r"__launch_bounds__\s*\([^)]*\)", lambda x: " " * len(x.group(0)), rest)
        name_m = re.search(r"(\w+)\s*\(", rest_nolb)
        if not name_m:
            continue
        name = name_m.group(1)
        open_pos = m.end() + name_m.end() - 1
        close = _matching_paren(clean, open_pos)
        params = []
        for p in _split_params(clean[open_pos + 1 : close]):
            p = p.split("=")[0].strip()
            ids = re.findall(r"[A-Za-z_]\w*", p)
            params.append(ids[-1] if len(ids) > 1 else f"#{len(params)}")
        head_start = max(
            clean.rfind(";", 0, m.start()), clean.rfind("}", 0, m.start()), clean.rfind("{", 0, m.start())
        )
        head = source[head_start + 1 : m.start()]
        c_linkage = wrapped or 'extern "C"' in head or any(a <= m.start() < b for a, b in c_blocks)
        template = "template" in clean[head_start + 1 : m.start()]
        if name not in kernels or len(params) > len(kernels[name].params):
            kernels[name] = KernelDecl(name, params, c_linkage, template)
    return kernels


def _matching_paren(clean: str, pos: int) -> int:
    depth = 0
    for i in range(pos, len(clean)):
        depth += clean[i] == "("
        depth -= clean[i] == ")"
        if depth == 0:
            return i
    raise CompileError("unbalanced parentheses in a kernel signature")


def _matching_brace(clean: str, pos: int) -> int:
    depth = 0
    for i in range(pos, len(clean)):
        depth += clean[i] == "{"
        depth -= clean[i] == "}"
        if depth == 0:
            return i
    return len(clean)


def _mark_kernel_returns(source: str) -> str:
    """``return;`` in a ``__global__`` function becomes ``return __emu_kernel_return();``.

    The sanitizer's synccheck tells a thread that *exited* before a barrier (a ``return`` of the kernel:
    the guard-and-return idiom, legal) from one that passed the barrier by and ran off the end of the
    kernel while others wait there (a divergent ``__syncthreads()``).
    """
    clean = _blank(source)
    edits = []
    for m in re.finditer(r"\b__global__\b", clean):
        paren = clean.find("(", m.end())
        while paren > 0 and clean[:paren].rstrip().endswith("__launch_bounds__"):
            paren = clean.find("(", _matching_paren(clean, paren))
        if paren < 0:
            continue
        try:
            close = _matching_paren(clean, paren)
        except CompileError:
            continue
        brace = re.compile(r"\s*(?:__launch_bounds__\s*\([^)]*\)\s*)?\{").match(clean, close + 1)
        if not brace:
            continue  # a declaration
        start = brace.end() - 1
        end = _matching_brace(clean, start)
        edits += [
            (start + r.start(), start + r.end()) for r in re.finditer(r"\breturn\s*;", clean[start:end])
        ]
    out, last = [], 0
    for a, b in sorted(set(edits)):
        out += [source[last:a], "return __emu_kernel_return();"]
        last = b
    out.append(source[last:])
    return "".join(out)


def _rewrite(source: str, first_line: int = 1) -> str:
    """The rewrites g++ needs: dynamic ``extern __shared__`` arrays, static ``__shared__`` ones, ``__device__`` variables."""
    source = _mark_kernel_returns(source)
    clean = _blank(source)
    out, last = [], 0
    for m in _DYN_SHARED_RE.finditer(clean):
        typ, name = source[m.start(1) : m.end(1)], m.group(2)
        typ = re.sub(r"__align__\s*\(\s*\d+\s*\)", "", typ).strip()
        if (
            _depth_at(clean, m.start()) == 0
        ):  # file scope: a macro (a pointer initialised at load time would be null)
            repl = f"\n#define {name} (__emu_opaque(({typ}*)__emu_dyn_smem))\n"
        else:
            repl = f"auto const {name} = __emu_opaque(({typ}*)__emu_dyn_smem);"
        out += [source[last : m.start()], repl]
        last = m.end()
    out.append(source[last:])
    source = "".join(out)
    # Static __shared__ variables inside a function are reached through a macro, scoped to the function
    # with #define / #undef (#line keeps the compiler's line numbers): ``(*__emu_opaque(&s__emu_s))``.
    # GCC's address sanitizer neither instruments a constant-index access of a static variable (s[0] = 1)
    # nor a store to an address it has just checked for a load (s[t] += ...); the opaque call in
    # sanitizer builds makes it check every access, so the init and race shadows see them all.
    clean = _blank(source)
    edits: list[tuple[int, int, str]] = []
    for m in _STATIC_SHARED_RE.finditer(clean):
        if _depth_at(clean, m.start()) == 0:
            continue
        typ, name, dims = source[m.start(1) : m.end(1)], m.group(2), m.group(3).strip()
        store = f"{name}__emu_s"
        depth, end = 0, m.end()
        while end < len(clean) and not (clean[end] == "}" and depth == 0):
            depth += {"{": 1, "}": -1}.get(clean[end], 0)
            end += 1
        line = first_line + source.count("\n", 0, m.end())
        end_line = first_line + source.count("\n", 0, end)
        edits.append(
            (
                m.start(),
                m.end(),
                f"__shared__ {typ} {store}{dims};\n#define {name} (*__emu_opaque(&{store}))\n#line {line}\n",
            )
        )
        edits.append((end, end, f"\n#undef {name}\n#line {end_line}\n"))
    out, last = [], 0
    for a, b, text in sorted(edits, key=lambda e: (e[0], e[1])):
        out += [source[last:a], text]
        last = b
    out.append(source[last:])
    source = "".join(out)
    clean = _blank(source)
    out, last = [], 0
    for m in re.finditer(r"\b([A-Za-z_]\w*)\s*<<<", clean):  # dynamic parallelism: k<<<g, b>>>(args)
        end = clean.find(">>>", m.end())
        if end < 0:
            continue
        out += [source[last : m.start()], f"__emu::dlaunch(&{m.group(1)}, {source[m.end() : end]})"]
        last = end + 3
    out.append(source[last:])
    source = "".join(out)
    clean = _blank(source)
    out, last = [], 0
    for m in _DEVICE_VAR_RE.finditer(clean):
        if _depth_at(clean, m.start()) != 0:
            continue
        out += [source[last : m.start()], "__emu_device_var"]
        last = m.start() + len("__device__")
    out.append(source[last:])
    return "".join(out)


def _hoist_includes(source: str) -> tuple[str, str]:
    lines = source.splitlines()
    inc = [line for line in lines if line.lstrip().startswith("#include")]
    body = [line if not line.lstrip().startswith("#include") else "" for line in lines]
    return "\n".join(inc), "\n".join(body)


def _cache_root(cache_dir) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    from book.paths import cache_dir as book_cache

    return Path(book_cache("cuda_emu"))


def _compile(full: str, options: list[str], sanitize: bool, cache: Path) -> Path:
    flags = CXXFLAGS + (SANITIZE_FLAGS if sanitize else []) + list(options) + [f"-I{INCLUDE}"]
    headers = "".join(h.read_text() for h in [HEADER, *sorted(INCLUDE.glob("*.hpp"))])
    key = hashlib.sha256((full + headers + " ".join(flags)).encode()).hexdigest()[:20]
    cache.mkdir(parents=True, exist_ok=True)
    so = cache / f"emu_{key}{'_san' if sanitize else ''}.so"
    if so.exists():
        return so
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        cpp = Path(tmp) / "kernel.cpp"
        cpp.write_text(full)
        out = Path(tmp) / "kernel.so"
        cmd = ["g++", *flags, "-include", str(HEADER), "-x", "c++", str(cpp), "-o", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            msg = proc.stderr.replace(str(cpp), "kernel.cu")
            if "template with C linkage" in msg:
                msg += (
                    '\nhint: SourceModule wraps the source in extern "C" { ... } unless no_extern_c=True (as '
                    "PyCUDA; nvcc rejects templates there too). Pass no_extern_c=True and declare the kernels "
                    'that Python calls extern "C"; a template kernel is found by its mangled name.'
                )
            raise CompileError(msg)
        os.replace(out, so)  # atomic: a concurrent reader sees the old file or the whole new one
    return so


def _static_smem(so: Path, kernels: list[str]) -> dict[str, int]:
    """Bytes of static ``__shared__`` memory per kernel, from the symbols of the ``emu_shared`` section.

    A ``__shared__`` variable declared inside a kernel counts for that kernel; one at file scope (or in
    a ``__device__`` function) counts for every kernel, as a conservative estimate.
    """
    cached = so.with_suffix(".smem")
    if cached.exists():
        text = cached.read_text()
    else:
        text = subprocess.run(["objdump", "-t", "-C", str(so)], capture_output=True, text=True).stdout
        cached.write_text(text)
    per = dict.fromkeys(kernels, 0)
    common = 0
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or "emu_shared" not in line or "emu_shared_anchor" in line:
            continue
        m = re.search(r"emu_shared\s+([0-9a-fA-F]+)\s+(.*)$", line)
        if not m:
            continue
        size, sym = int(m.group(1), 16), m.group(2).strip()
        owner = re.match(r"(?:\w+::)*?(\w+)(?:\(.*\))?::\w+$", sym) if "::" in sym else None
        if owner and owner.group(1) in per:
            per[owner.group(1)] += size
        else:
            common += size
    return {k: v + common for k, v in per.items()}


class SourceModule:
    """``SourceModule(source, no_extern_c=False)``: compile with g++ (once per source hash), then ``get_function`` (chapter 03).

    As PyCUDA, ``no_extern_c=False`` wraps the source in ``extern "C" { ... }`` (so kernel names are not
    mangled); with ``no_extern_c=True`` a kernel without ``extern "C"`` has a C++ (mangled) name.
    """

    def __init__(self, source: str, nvcc: str = "nvcc", options=None, keep: bool = False, no_extern_c: bool = False,
                 arch=None, code=None, cache_dir=None, include_dirs=(), **_):  # fmt: skip
        self.source = source
        if no_extern_c:
            includes, body = "", source
        else:
            includes, body = _hoist_includes(source)
        self.decls = find_kernels(body, wrapped=not no_extern_c)
        body = _rewrite(body, first_line=1 if no_extern_c else 2)
        if not no_extern_c:
            body = 'extern "C" {\n' + body + "\n}\n"
        usable = [d for d in self.decls.values() if not d.template]
        thunks = "\n".join(f"EMU_THUNK({d.name}, {k})" for k, d in enumerate(usable))
        self._ids = {d.name: k for k, d in enumerate(usable)}
        self._full = includes + '\n#line 1 "kernel.cu"\n' + body + "\n" + thunks + "\n"
        self._options = [o for o in (options or []) if o.startswith(("-D", "-U", "-I"))]
        self._options += [f"-I{d}" for d in include_dirs]
        self._cache = _cache_root(cache_dir)
        self._libs: dict[bool, ctypes.CDLL] = {}
        self._texrefs: dict[str, TextureReference] = {}
        self._so: dict[bool, Path] = {}
        self._lib(OPTIONS.sanitize)  # compile errors surface here, as with PyCUDA
        self._static_smem = _static_smem(self._so[OPTIONS.sanitize], list(self._ids))
        for k, nbytes in self._static_smem.items():
            if nbytes > 48 * 1024:
                raise CompileError(
                    f"ptxas error   : Entry function '{k}' uses too much shared data (0x{nbytes:x} bytes, "
                    "0xc000 max): static __shared__ memory is limited to 48 KiB per block"
                )
        self._functions: dict[str, Function] = {}
        self._globals_mm = None
        self._globals_shared_ptr = 0
        self._global_sizes: dict[str, int] = {}

    def _lib(self, sanitize: bool) -> ctypes.CDLL:
        if sanitize not in self._libs:
            try:
                self._so[sanitize] = _compile(self._full, self._options, sanitize, self._cache)
            except CompileError:
                if not sanitize:
                    raise
                # a plain pointer to __shared__ data: compile without the volatile shared accesses
                self._so[sanitize] = _compile(
                    self._full, [*self._options, "-DEMU_PLAIN_SHARED"], True, self._cache
                )
            self._libs[sanitize] = ctypes.CDLL(str(self._so[sanitize]))
            for tex in self._texrefs.values():
                tex._bind(self._libs[sanitize])
        return self._libs[sanitize]

    def _globals(self, lib) -> tuple[int, int]:
        n = ctypes.c_size_t()
        f = getattr(lib, "__emu_globals_range")
        f.restype = ctypes.c_void_p
        f.argtypes = [ctypes.POINTER(ctypes.c_size_t)]
        ptr = f(ctypes.byref(n))
        if n.value <= 16:
            return 0, 0
        if self._globals_mm is None or len(self._globals_mm) < n.value:
            self._globals_mm = mmap.mmap(-1, n.value)
            self._globals_shared_ptr = ctypes.addressof(ctypes.c_char.from_buffer(self._globals_mm))
        return ptr, n.value

    def get_function(self, name: str) -> Function:
        """The kernel ``name`` (a C name, or the mangled name of a kernel with C++ linkage)."""
        if name in self._functions:
            return self._functions[name]
        decl = self.decls.get(name)
        if decl is None:
            m = re.match(r"_Z(\d+)(\w+)", name)
            if m and m.group(2)[: int(m.group(1))] in self.decls:
                decl = self.decls[m.group(2)[: int(m.group(1))]]
                if decl.c_linkage:
                    decl = None
        elif not decl.c_linkage:
            raise LogicError(
                f"cuModuleGetFunction failed: named symbol not found ({name}): the kernel has C++ linkage, so "
                f'its name is mangled (_Z{len(name)}{name}...). Declare it extern "C", or leave no_extern_c=False'
            )
        if decl is not None and decl.template and name.startswith("_Z") and name not in self._ids:
            self._instantiate(name, decl)
        if decl is not None and decl.template and name in self._ids:
            f = Function(self, decl, self._ids[name])
            self._functions[name] = f
            return f
        if decl is None or decl.name not in self._ids:
            hint = ' (a template kernel: instantiate it in an extern "C" wrapper)' if decl is not None else ""
            raise LogicError(f"cuModuleGetFunction failed: named symbol not found ({name}){hint}")
        f = Function(self, decl, self._ids[decl.name])
        self._functions[name] = f
        return f

    def _instantiate(self, mangled: str, decl: KernelDecl) -> None:
        """A thunk for a template kernel named by its mangled name (``_Z1kIfEvPT_`` = ``k<float>``).

        The module is compiled again with the thunk (cached); ``__device__`` variables start afresh.
        """
        proc = subprocess.run(["c++filt", mangled], capture_output=True, text=True)
        text = proc.stdout.strip()
        start = text.find(decl.name + "<")
        if proc.returncode != 0 or start < 0:
            return
        depth, end = 0, start + len(decl.name)
        for end in range(start + len(decl.name), len(text)):
            depth += {"<": 1, ">": -1}.get(text[end], 0)
            if depth == 0:
                break
        expr, k = text[start : end + 1], len(self._ids)
        attrs = '__attribute__((visibility("default"), no_sanitize_address))'
        self._full += (
            f'extern "C" {attrs} void __emu_thunk_{k}(const char* b) {{ __emu::call(&{expr}, b); }}\n'
            f'extern "C" {attrs} const __emu::ParamInfo* __emu_info_{k}(int* n) '
            f"{{ return __emu::info(&{expr}, n); }}\n"
        )
        self._ids[mangled] = k
        self._libs.clear()
        self._so.clear()
        self._lib(OPTIONS.sanitize)

    def get_global(self, name: str) -> tuple[DeviceAllocation, int]:
        """``(device pointer, size in bytes)`` of a ``__constant__`` or ``__device__`` variable."""
        lib = self._lib(False)
        if OPTIONS.sanitize:
            lib = self._lib(True)
        try:
            addr = ctypes.addressof(ctypes.c_char.in_dll(lib, name))
        except ValueError:
            raise LogicError(f"cuModuleGetGlobal failed: named symbol not found ({name})") from None
        size = self._global_size(name)
        return _GlobalPtr(addr, size), size

    def _global_size(self, name: str) -> int:
        so = self._so.get(OPTIONS.sanitize) or next(iter(self._so.values()), None)
        if so is not None:  # the symbol's size, from the compiled library (macros in the size resolved)
            proc = subprocess.run(["nm", "-S", "--defined-only", str(so)], capture_output=True, text=True)
            for line in proc.stdout.splitlines():
                parts = line.split()
                if len(parts) == 4 and parts[3] == name:
                    return int(parts[1], 16)
        m = re.search(
            r"(?:__constant__|__device__)\s+((?:const\s+)?[\w:]+(?:\s+[\w:]+)*?)\s+" + re.escape(name)
            + r"\s*((?:\[[^\]]+\]\s*)*)[;=]", _blank(self.source),
        )  # fmt: skip
        if not m:
            return 4
        base = m.group(1).replace("const", "").strip()
        sizes = {"float": 4, "double": 8, "int": 4, "unsigned": 4, "unsigned int": 4, "char": 1, "short": 2,
                 "long long": 8, "unsigned char": 1, "float2": 8, "float4": 16, "int2": 8, "int4": 16}  # fmt: skip
        n = sizes.get(base, 4)
        for d in re.findall(r"\[([^\]]+)\]", m.group(2)):
            try:
                n *= int(eval(d, {"__builtins__": {}}))  # noqa: S307  (a constant expression from the source)
            except Exception:
                pass
        return n

    def get_texref(self, name: str) -> TextureReference:
        """The texture reference ``name`` (``texture<T, 1, cudaReadModeElementType> name;``): 1-D fetches only."""
        if name not in self._texrefs:
            tex = TextureReference(self, name)
            for lib in self._libs.values():
                tex._bind(lib)
            self._texrefs[name] = tex
        return self._texrefs[name]


class TextureReference:
    """A texture reference of a module (chapter 03): ``set_address`` binds device memory for ``tex1Dfetch``.

    Texture references are deprecated (removed in CUDA 12); the emulator keeps them for old PyCUDA code such
    as ``get_linear_combination_kernel``: a fetch reads the bound memory (no filtering, no normalisation).
    """

    def __init__(self, module: SourceModule, name: str):
        self.module, self.name = module, name
        self.address, self.nbytes, self.flags, self.format = 0, 0, 0, (None, 1)

    def _bind(self, lib: ctypes.CDLL) -> None:
        try:
            cell = (ctypes.c_uint64 * 2).in_dll(lib, self.name)
        except ValueError:
            raise LogicError(f"cuModuleGetTexRef failed: named symbol not found ({self.name})") from None
        cell[0], cell[1] = self.address, self.nbytes

    def set_address(self, devptr: Any, nbytes: int, allow_offset: bool = False) -> int:
        """Bind ``nbytes`` of device memory at ``devptr``; returns the offset (always 0)."""
        self.address, self.nbytes = int(devptr), int(nbytes)
        for lib in self.module._libs.values():
            self._bind(lib)
        return 0

    def set_format(self, fmt: Any, num_channels: int) -> None:
        """Record the format (fetches return the texture's C type)."""
        self.format = (fmt, num_channels)

    def set_flags(self, flags: int) -> None:
        """Record the flags."""
        self.flags = int(flags)

    def get_flags(self) -> int:
        """The flags set last."""
        return self.flags


class _GlobalPtr(_Region):
    """A pointer to a module variable (``get_global``); copies to it go to the module's section."""

    def __init__(self, addr: int, size: int):  # not a shared mapping: the module's own memory
        self.ptr, self.nbytes = addr, size
        self._shadow = mmap.mmap(-1, max(size, 1))
        self.shadow_ptr = ctypes.addressof(ctypes.c_char.from_buffer(self._shadow))
        self.name = f"a __constant__/__device__ variable ({size} bytes)"
        _LIVE[addr] = self

    def __int__(self) -> int:
        return self.ptr
