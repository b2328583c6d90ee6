"""Formula strings to SymPy expressions, without ``eval``.

A formula in a case file, a model file or ``kernel_model(psp="...")`` is untrusted text: SymPy's
``sympify``/``parse_expr`` evaluate it as Python, so ``"0*__import__('os').system('...')"`` would run a
command. Here the text is parsed by Python's ``ast`` in ``eval`` mode and the tree is walked with an
explicit whitelist; the SymPy expression is built node by node. Nothing from the text is ever executed.

Accepted grammar::

    expr := number | name | expr (+ - * / **) expr | (+|-) expr | func(expr) | (expr)
    func := exp | log | sqrt | expm1 | log1p

``name`` is one of the names the caller declares (the model's parameters and ``s``), or the constants
``pi`` and ``E`` (Euler's number; no parameter may take these names).
Everything else (attributes, subscripts, calls to other functions, keyword arguments, lambdas,
comparisons, strings, complex literals, ``I``, ``oo``, ``Heaviside``, ``sin``...) is refused with a
:class:`~exactsnn.errors.ModelError` naming the offending piece and saying what is allowed. These are
exactly the functions whose interval enclosures (``numeric/interval.py``) and float64 printing exist,
so a formula that parses here can be compiled and enclosed.

Sizes are bounded before any arithmetic: at most :data:`MAX_LENGTH` characters and
:data:`MAX_NODES` tree nodes, literals of magnitude at most ``1e300``, and a constant power
``b ** e`` only when ``|e log10|b|| <= 300`` (``10**(10**8)`` would otherwise make SymPy compute a
hundred-million-digit integer).
"""

from __future__ import annotations

import ast
import math

import sympy

from .errors import ModelError

#: Longest formula string accepted.
MAX_LENGTH = 4000
#: Most syntax-tree nodes accepted.
MAX_NODES = 1000
#: Largest magnitude of a literal or of a constant power's result.
MAX_MAGNITUDE = 1e300

FUNCTIONS = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "expm1": lambda x: sympy.exp(x) - 1,
    "log1p": lambda x: sympy.log(1 + x),
}
CONSTANTS = {"pi": sympy.pi, "E": sympy.E}

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_ALLOWED = "numbers, the names {names}, + - * / **, unary + -, parentheses and the functions {funcs}"


def reserved_formula_names() -> set:
    """Names a formula gives a meaning of its own (functions and constants): no parameter may take them."""
    return set(FUNCTIONS) | set(CONSTANTS)


def parse_formula(text, symbols: dict, label: str) -> sympy.Expr:
    """Parse a formula string (or a finite number) into a SymPy expression.

    Parameters
    ----------
    text : str, int or float
        The formula, e.g. ``"(exp(-s/tau_syn) - exp(-s/tau_mem)) / (1/tau_mem - 1/tau_syn)"``.
    symbols : dict of str -> sympy.Symbol
        The names the formula may use (parameters, ``s``, ODE states, ...).
    label : str
        What the formula is (``"psp"``, ``"equation dV/dt"``), for error messages.

    Raises
    ------
    ModelError
        Naming ``label``, the text and the node that is not allowed.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return _number(text, label, text)
    if not isinstance(text, str) or not text.strip():
        raise ModelError(f"{label} must be a formula string or a finite number, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise ModelError(f"{label} is {len(text)} characters long; at most {MAX_LENGTH} are accepted")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ModelError(f"{label} = {text!r} does not parse: {exc.msg} (column {exc.offset})") from None
    except (RecursionError, MemoryError, ValueError):
        raise ModelError(f"{label} = {text[:80]!r}... is nested too deeply or malformed") from None
    n_nodes = sum(1 for _ in ast.walk(tree))
    if n_nodes > MAX_NODES:
        raise ModelError(f"{label} has {n_nodes} syntax nodes; at most {MAX_NODES} are accepted")
    try:
        return _Builder(symbols, label, text).visit(tree.body)
    except RecursionError:
        raise ModelError(f"{label} = {text[:80]!r}... is nested too deeply") from None


class _Builder:
    """Walks a whitelisted ``ast`` tree and builds the SymPy expression bottom-up."""

    def __init__(self, symbols, label, text):
        self.symbols = dict(symbols)
        self.label = label
        self.text = text

    def refuse(self, what: str):
        names = ", ".join(sorted(set(self.symbols) | set(CONSTANTS)))
        allowed = _ALLOWED.format(names=names, funcs=", ".join(FUNCTIONS))
        raise ModelError(f"{self.label} = {self.text!r}: {what} is not allowed; a formula may use {allowed}")

    def visit(self, node):
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            arg = self.visit(node.operand)
            return -arg if isinstance(node.op, ast.USub) else arg
        if isinstance(node, ast.Call):
            return self.call(node)
        self.refuse(f"{type(node).__name__} ({_source(self.text, node)!r})")

    def constant(self, node):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.refuse(f"the literal {value!r}")
        return _number(value, self.label, self.text, literal=True)

    def name(self, node):
        if node.id in self.symbols:
            return self.symbols[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        self.refuse(f"the unknown name {node.id!r}")

    def binop(self, node):
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow):
            return self.power(left, right)
        op = _BINARY.get(type(node.op))
        if op is None:
            self.refuse(f"the operator {type(node.op).__name__}")
        if isinstance(node.op, ast.Div) and right == 0:
            self.refuse("division by zero")
        return op(left, right)

    def power(self, base, exponent):
        if base.is_number and exponent.is_number:
            b, e = complex(base), complex(exponent)
            if b.imag or e.imag or (b.real == 0 and e.real < 0):
                self.refuse(f"the constant power ({base})**({exponent})")
            if b.real != 0 and abs(e.real * math.log10(abs(b.real))) > math.log10(MAX_MAGNITUDE):
                self.refuse(f"the constant power {base}**{exponent} (larger than {MAX_MAGNITUDE:g})")
            if b.real < 0 and not exponent.is_integer:
                self.refuse(f"a negative number to a non-integer power (({base})**({exponent}))")
        elif base.is_number and not exponent.is_number:
            # b**x with a symbolic exponent: kept as exp(x log b), which every printer supports.
            if not (base.is_positive and base.is_finite):
                self.refuse(f"the power {base}**({exponent}) with a non-positive base")
            return sympy.exp(exponent * sympy.log(base), evaluate=False)
        return sympy.Pow(base, exponent)

    def call(self, node):
        if not isinstance(node.func, ast.Name):
            self.refuse(f"calling {_source(self.text, node.func)!r}")
        func = FUNCTIONS.get(node.func.id)
        if func is None:
            self.refuse(f"the function {node.func.id!r}")
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            self.refuse(f"{node.func.id}(...) with other than one positional argument")
        return func(self.visit(node.args[0]))


def _number(value, label, text, literal=False):
    """A finite number as SymPy: ``Integer`` for ints, ``Float`` for float literals (as SymPy's own parser
    gives), and ``Integer`` for an integral float passed as a number."""
    if isinstance(value, int) and abs(value) > 10**300:
        raise ModelError(f"{label} = {text!r}: the literal is larger than {MAX_MAGNITUDE:g}")
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise ModelError(f"{label} = {text!r}: the number {value!r} must be finite and at most {MAX_MAGNITUDE:g}")
    if isinstance(value, int) or (not literal and float(value).is_integer()):
        return sympy.Integer(int(value))
    return sympy.Float(value)


def _source(text, node) -> str:
    return ast.get_source_segment(text.strip(), node) or type(node).__name__
