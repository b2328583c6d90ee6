"""The layering rules that the package docstrings state, checked on the import graph built from the AST.

Every ``import`` and ``from ... import`` in every module counts, including those inside functions
(a lazy import is still a dependency). Relative imports are resolved to absolute module names.

Rules (each names the docstring that states it):

- ``exactsnn.numeric``: numpy + numba + the standard library only (``numeric/__init__.py``).
- ``exactsnn.reference``: never the numeric path, the derivation or the code generator
  (``reference/__init__.py``): it must stay an independent check of them.
- the runtime core (``compiled``, ``stamp``, ``network``, ``diagnostics``, ``errors``) never imports a
  symbolic layer (SymPy, ``model``, ``formula``, ``models``, ``derive``, ``codegen``)
  (``compiled.py``, ``resolve.py``); the runtime API (``simulate``, ``grad``, ``losses``) reaches the
  code generator only through ``resolve``.
- nothing below them imports the layers above: ``verification``, ``io``, ``cli``, ``training``, ``demo``,
  ``interop``, ``distributed`` (``verification/__init__.py``, ARCHITECTURE).
"""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "exactsnn"
STDLIB = set(sys.stdlib_module_names)

SYMBOLIC = ("sympy", "exactsnn.model", "exactsnn.formula", "exactsnn.models", "exactsnn.derive", "exactsnn.codegen",
            "exactsnn.time_bound")
UPPER = ("exactsnn.verification", "exactsnn.io", "exactsnn.cli", "exactsnn.training", "exactsnn.demo",
         "exactsnn.interop", "exactsnn.distributed", "exactsnn.torch", "exactsnn.jax")
LOWER = ("exactsnn.numeric", "exactsnn.reference", "exactsnn.model", "exactsnn.formula", "exactsnn.models",
         "exactsnn.derive", "exactsnn.codegen", "exactsnn.compiled", "exactsnn.stamp", "exactsnn.network",
         "exactsnn.diagnostics", "exactsnn.errors", "exactsnn.simulate", "exactsnn.grad", "exactsnn.losses",
         "exactsnn.hessian",
         "exactsnn.resolve", "exactsnn.time_bound")


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool = False) -> set:
    """Absolute names of every module imported anywhere in ``source``."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[:len(base) - node.level + 1]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)  # "from . import models" imports a module
    return out


def violations(module: str, imported: set) -> list:
    """The rules ``module`` breaks by importing ``imported``."""
    def under(name, prefixes):
        return any(name == p or name.startswith(p + ".") for p in prefixes)

    bad = []
    if under(module, ("exactsnn.numeric",)):
        bad += [m for m in imported if m.split(".")[0] not in STDLIB | {"numpy", "numba"}
                and not under(m, ("exactsnn.numeric",))]
    if under(module, ("exactsnn.reference",)):
        bad += [m for m in imported if under(m, ("exactsnn.numeric", "exactsnn.derive", "exactsnn.codegen",
                                                 "exactsnn.compiled", "exactsnn.stamp", "exactsnn.simulate",
                                                 "exactsnn.grad", "exactsnn.losses", "exactsnn._generated",
                                                 "exactsnn.hessian"))]
    if under(module, ("exactsnn.compiled", "exactsnn.stamp", "exactsnn.network", "exactsnn.diagnostics",
                      "exactsnn.errors")):
        bad += [m for m in imported if under(m, SYMBOLIC)]
    if under(module, ("exactsnn.simulate", "exactsnn.grad", "exactsnn.losses", "exactsnn.hessian")):
        bad += [m for m in imported if under(m, SYMBOLIC)]
    if under(module, LOWER):
        bad += [m for m in imported if under(m, UPPER)]
    return sorted(set(bad))


def package_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        if "_generated" in path.parts:
            continue
        yield module_name(path), path


@pytest.mark.parametrize("module, path", list(package_modules()), ids=lambda x: str(x))
def test_module_keeps_the_layering_rules(module, path):
    imported = imports_of(path.read_text(), module, path.name == "__init__.py")
    assert violations(module, imported) == []


@pytest.mark.parametrize("module, source, expected", [
    ("exactsnn.numeric.expdd", "import sympy", ["sympy"]),
    ("exactsnn.numeric.heap", "def f():\n    from ..simulate import simulate", ["exactsnn.simulate",
                                                                              "exactsnn.simulate.simulate"]),
    ("exactsnn.reference.solve", "from ..numeric.expdd import expdd2", ["exactsnn.numeric.expdd",
                                                                        "exactsnn.numeric.expdd.expdd2"]),
    ("exactsnn.compiled", "def f():\n    from .codegen.cache import compile_model",
     ["exactsnn.codegen.cache", "exactsnn.codegen.cache.compile_model"]),
    ("exactsnn.simulate", "import exactsnn.derive", ["exactsnn.derive"]),
    ("exactsnn.grad", "from .verification import verify", ["exactsnn.verification",
                                                          "exactsnn.verification.verify"]),
])
def test_the_checker_catches_a_forbidden_import(module, source, expected):
    """Each rule fails when a forbidden import is added, inside a function too."""
    assert violations(module, imports_of(source, module)) == expected


def test_relative_imports_resolve_like_python():
    assert imports_of("from . import models", "exactsnn.io.model_files") >= {"exactsnn.io.models"}
    assert "exactsnn.models" in imports_of("from .. import models", "exactsnn.io.model_files")
    assert "exactsnn.errors" in imports_of("from .errors import ModelError", "exactsnn", is_package=True)
