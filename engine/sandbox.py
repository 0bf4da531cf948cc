"""Restricted script environment for everything a diagram evaluates.

BPMN scripts, pre/post scripts, gateway conditions, timer expressions, multi-instance expressions,
completion conditions, message correlation and DMN cells all reach SpiffWorkflow's script
*environment*. Diagrams are deployed by modellers who are not server administrators, so that
environment must not let anything they write reach the operating system.

Policy (see also ``shared/ENGINE_NOTES.md``, "Scripts and service tasks"):

* Source is compiled with RestrictedPython and a stricter policy: no import, no class definitions,
  no names or attributes starting with ``_``, no calls of ``eval``/``exec``/``getattr``/``type``...
* Builtins are a short whitelist; attribute access is limited to plain data methods of plain data
  types (``str.format``/``format_map`` are refused because they reach attributes).
* A time-budget check is injected at the top of every loop, function, lambda, comprehension and
  exception handler, so runaway code stops in any thread (no signals involved).
* ``*``, ``+``, ``**``, ``<<`` and ``%`` are routed through helpers that refuse huge results.
* Expressions (``evaluate``) are read-only: they cannot change task data.
* ``execute`` copies new and changed top-level names back into task data and refuses anything
  that is not JSON.

Not blockable here: single C-level calls on large-but-allowed values (for example ``str()`` of a
deeply shared nested list, or building many 1M-element lists in a loop until memory runs out).
Run engine steps in a worker process with ``RLIMIT_AS``/``RLIMIT_CPU`` if that matters.
"""

from __future__ import annotations

import ast
import copy
import functools
import keyword
import math
import operator
import re
import textwrap
import time
import types
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

__all__ = [
    "MAX_INT_BITS",
    "MAX_SIZE",
    "SandboxEnvironment",
    "SandboxScriptEngine",
    "SandboxViolation",
    "ScriptError",
    "ScriptTimeout",
    "check_source",
    "json_safe_check",
]

MAX_SIZE = 1_000_000            # items/characters in one str, list, tuple or range
MAX_INT_BITS = 1_000_000        # bits in one integer produced by *, ** or <<
MAX_FORMAT_WIDTH = 10_000       # width/precision in %-formatting and f-string format specs
MAX_SOURCE = 100_000            # characters of script source
MAX_DATA_VALUES = 200_000       # values in task data (json_safe_check)
MAX_DATA_CHARS = 20_000_000     # characters of strings in task data (json_safe_check)
MAX_DATA_DEPTH = 100            # nesting of task data (json_safe_check)
CACHE_SIZE = 4096               # compiled sources kept
CACHE_MAX_SOURCE = 20_000       # longer sources are compiled every time (bounds the cache's memory)
FILENAME = "<string>"           # SpiffWorkflow looks for this name in tracebacks to find the line
MODES = ("exec", "eval", "dmn_entry")


# --------------------------------------------------------------------------- errors


class ScriptError(Exception):
    """A script or expression was refused or failed; the message says what and where."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line

    def locate(self, line: int | None) -> ScriptError:
        """Record the script line the error happened on (once) and mention it in the message."""
        if line and self.line is None:
            self.line = line
            self.args = (f"{self.args[0]} (line {line})",)
        return self


class SandboxViolation(ScriptError):
    """Source refused at compile time (import, dunder, ``_private``, exec, class...)."""


class ScriptTimeout(ScriptError):
    """The script used more than its time budget."""


# --------------------------------------------------------------------------- size guards


def _check_size(size: int, what: str) -> None:
    """Refuse a result with more than MAX_SIZE items."""
    if size > MAX_SIZE:
        raise ScriptError(f"{what} would have {size:,} items; the limit is {MAX_SIZE:,}")


def _check_bits(bits: int, what: str) -> None:
    """Refuse an integer result of more than MAX_INT_BITS bits."""
    if bits > MAX_INT_BITS:
        raise ScriptError(f"{what} would have about {bits:,} bits; the limit is {MAX_INT_BITS:,}")


_SEQUENCES = (str, list, tuple, bytes)


def _check_mul(a: Any, b: Any) -> None:
    """Size check for ``a * b``."""
    if isinstance(a, int) and isinstance(b, int):
        _check_bits(a.bit_length() + b.bit_length(), "integer product")
    elif isinstance(a, _SEQUENCES) and isinstance(b, int):
        _check_size(len(a) * b, f"repeated {type(a).__name__}")
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        _check_size(len(b) * a, f"repeated {type(b).__name__}")


def _check_add(a: Any, b: Any) -> None:
    """Size check for ``a + b`` on sequences."""
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _check_size(len(a) + len(b), f"concatenated {type(a).__name__}")


def _check_pow(a: Any, b: Any) -> None:
    """Size check for ``a ** b`` on integers."""
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        _check_bits(a.bit_length() * b, "power")


def _check_lshift(a: Any, b: Any) -> None:
    """Size check for ``a << b``."""
    if isinstance(a, int) and isinstance(b, int) and b > 0 and a:
        _check_bits(a.bit_length() + b, "shifted integer")


_PERCENT_SPEC = re.compile(r"%%|%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _too_wide(digits: str) -> bool:
    """Whether a width/precision written as digits exceeds MAX_FORMAT_WIDTH (without parsing huge numbers)."""
    return len(digits.lstrip("0")) > len(str(MAX_FORMAT_WIDTH)) or int(digits) > MAX_FORMAT_WIDTH


def _check_mod(a: Any, b: Any) -> None:
    """Refuse %-formatting with huge or ``*`` widths (``'%0999999999d' % 1``)."""
    if not isinstance(a, str):
        return
    for match in _PERCENT_SPEC.finditer(a):
        for width in match.groups():
            if width == "*" or (width and _too_wide(width)):
                raise ScriptError(f"%-format width {width[:12]!r} is not allowed (limit {MAX_FORMAT_WIDTH})")


def _mul_(a: Any, b: Any) -> Any:
    """Guarded ``a * b``."""
    _check_mul(a, b)
    return a * b


def _add_(a: Any, b: Any) -> Any:
    """Guarded ``a + b``."""
    _check_add(a, b)
    return a + b


def _pow_(a: Any, b: Any) -> Any:
    """Guarded ``a ** b``."""
    _check_pow(a, b)
    return a**b


def _lshift_(a: Any, b: Any) -> Any:
    """Guarded ``a << b``."""
    _check_lshift(a, b)
    return a << b


def _mod_(a: Any, b: Any) -> Any:
    """Guarded ``a % b``."""
    _check_mod(a, b)
    return a % b


_BINOP_HELPERS = {
    ast.Mult: "_mul_", ast.Add: "_add_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Mod: "_mod_",
}
_INPLACE_CHECKS = {
    "*=": _check_mul, "+=": _check_add, "**=": _check_pow, "<<=": _check_lshift, "%=": _check_mod,
}
_INPLACE_OPS = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand,
}


def _inplacevar_(op: str, target: Any, value: Any) -> Any:
    """Guarded augmented assignment (``n += 1`` becomes ``n = _inplacevar_('+=', n, 1)``)."""
    check = _INPLACE_CHECKS.get(op)
    if check is not None:
        check(target, value)
    if op not in _INPLACE_OPS:
        raise ScriptError(f"operator {op} is not allowed")
    return _INPLACE_OPS[op](target, value)


# --------------------------------------------------------------------------- builtins


def _safe_range(*args: int) -> range:
    """``range`` limited to MAX_SIZE items (C-level consumers such as ``sum`` cannot be interrupted)."""
    result = range(*args)
    try:
        size = len(result)
    except OverflowError:
        size = MAX_SIZE + 1
    _check_size(size, "range")
    return result


def _safe_sum(iterable: Iterable[Any], /, start: int | float = 0) -> Any:
    """``sum`` of numbers only (``sum(lists, [])`` is quadratic C code)."""
    if not isinstance(start, int | float):
        raise ScriptError("sum() adds numbers only; use a comprehension to join lists")
    return sum(iterable, start)


def _safe_round(number: Any, ndigits: int | None = None) -> Any:
    """``round`` with a bounded number of digits (``round(10**9, -10**9)`` would run for ever)."""
    if ndigits is None:
        return round(number)
    if not isinstance(ndigits, int) or abs(ndigits) > 100:
        raise ScriptError("round() ndigits must be an integer between -100 and 100")
    return round(number, ndigits)


def _apply_(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Calls with ``*args``/``**kwargs`` (RestrictedPython routes them here)."""
    return func(*args, **kwargs)


_PLAIN_BUILTINS: dict[str, Any] = {
    "None": None, "True": True, "False": False,
    "bool": bool, "int": int, "float": float, "str": str, "list": list, "dict": dict, "tuple": tuple,
    "set": set, "len": len, "min": min, "max": max, "sorted": sorted, "any": any, "all": all, "abs": abs,
    "enumerate": enumerate, "zip": zip, "reversed": reversed, "isinstance": isinstance,
    "range": _safe_range, "sum": _safe_sum, "round": _safe_round,
    "Exception": Exception, "ValueError": ValueError, "TypeError": TypeError, "KeyError": KeyError,
    "IndexError": IndexError, "LookupError": LookupError, "ArithmeticError": ArithmeticError,
    "ZeroDivisionError": ZeroDivisionError,
}


# --------------------------------------------------------------------------- attribute guard

_STR_ATTRS = frozenset("""
    capitalize casefold center count endswith find index isalnum isalpha isascii isdecimal isdigit
    isidentifier islower isnumeric isprintable isspace istitle isupper join ljust lower lstrip partition
    removeprefix removesuffix replace rfind rindex rjust rpartition rsplit rstrip split splitlines
    startswith strip swapcase title upper zfill""".split())
_INT_ATTRS = frozenset(
    "as_integer_ratio bit_count bit_length conjugate denominator imag numerator real".split())
_FLOAT_ATTRS = frozenset("as_integer_ratio conjugate imag is_integer real".split())
_LIST_READ = frozenset("copy count index".split())
_LIST_WRITE = frozenset("append clear extend insert pop remove reverse sort".split())
_DICT_READ = frozenset("copy get items keys values".split())
_DICT_WRITE = frozenset("clear pop popitem setdefault update".split())
_SET_READ = frozenset(
    "copy difference intersection isdisjoint issubset issuperset symmetric_difference union".split())
_SET_WRITE = frozenset("add clear difference_update discard intersection_update pop remove "
                       "symmetric_difference_update update".split())
_TUPLE_ATTRS = frozenset(("count", "index"))

_READ_ONLY_ATTRS: dict[type, frozenset[str]] = {
    str: _STR_ATTRS, int: _INT_ATTRS, bool: _INT_ATTRS, float: _FLOAT_ATTRS, tuple: _TUPLE_ATTRS,
    list: _LIST_READ, dict: _DICT_READ, set: _SET_READ,
}
_WRITABLE_ATTRS: dict[type, frozenset[str]] = {
    **_READ_ONLY_ATTRS,
    list: _LIST_READ | _LIST_WRITE,
    dict: _DICT_READ | _DICT_WRITE,
    set: _SET_READ | _SET_WRITE,
}


def _width_checked(obj: str, method: Callable[..., str]) -> Callable[..., str]:
    """``ljust``/``rjust``/``center``/``zfill`` with a bounded width."""
    def call(width: int, *args: Any) -> str:
        if isinstance(width, int):
            _check_size(width, "padded string")
        return method(width, *args)
    return call


def _join_checked(sep: str, method: Callable[[Iterable[str]], str]) -> Callable[[Iterable[str]], str]:
    """``str.join`` with a bounded result length."""
    def call(iterable: Iterable[str]) -> str:
        items = iterable if isinstance(iterable, list | tuple) else list(iterable)
        try:
            total = sum(map(len, items)) + len(sep) * max(len(items) - 1, 0)
        except TypeError:
            total = 0  # join itself reports the non-string item
        _check_size(total, "joined string")
        return method(items)
    return call


def _replace_checked(obj: str, method: Callable[..., str]) -> Callable[..., str]:
    """``str.replace`` with a bounded result length."""
    def call(old: str, new: str, count: int = -1) -> str:
        if isinstance(old, str) and isinstance(new, str) and isinstance(count, int):
            hits = obj.count(old) if old else len(obj) + 1
            hits = hits if count < 0 else min(hits, count)
            _check_size(len(obj) + hits * (len(new) - len(old)), "replaced string")
        return method(old, new, count)
    return call


def _extend_checked(obj: list, method: Callable[[Iterable[Any]], None]) -> Callable[[Iterable[Any]], None]:
    """``list.extend`` with a bounded result length."""
    def call(iterable: Iterable[Any]) -> None:
        if isinstance(iterable, list | tuple | str | dict | set | range):
            _check_size(len(obj) + len(iterable), "extended list")
        return method(iterable)
    return call


_SIZE_CHECKED_METHODS: dict[tuple[type, str], Callable[[Any, Any], Any]] = {
    (str, "ljust"): _width_checked, (str, "rjust"): _width_checked, (str, "center"): _width_checked,
    (str, "zfill"): _width_checked, (str, "join"): _join_checked, (str, "replace"): _replace_checked,
    (list, "extend"): _extend_checked,
}


def _attribute_refusal(obj: Any, name: str, read_only: bool) -> str:
    """Explain why ``obj.name`` is refused."""
    kind = type(obj).__name__
    if name in ("format", "format_map") and isinstance(obj, str):
        return f"str.{name}() is not allowed (it can reach attributes); use an f-string"
    if read_only and name in (_LIST_WRITE | _DICT_WRITE | _SET_WRITE):
        return f"{kind}.{name}() changes data: expressions are read-only, use a script task"
    return f"attribute {name!r} of {kind} is not allowed in scripts"


def _make_getattr(table: dict[type, frozenset[str]]) -> Callable[[Any, str], Any]:
    """Build the ``_getattr_`` guard for one attribute whitelist."""
    read_only = table is _READ_ONLY_ATTRS

    def guarded_getattr(obj: Any, name: str) -> Any:
        kind = type(obj)
        allowed = table.get(kind)
        if allowed is not None and name in allowed:
            value = getattr(obj, name)
            wrap = _SIZE_CHECKED_METHODS.get((kind, name))
            return wrap(obj, value) if wrap else value
        if name == "args" and isinstance(obj, BaseException):
            return obj.args
        raise ScriptError(_attribute_refusal(obj, name, read_only))
    return guarded_getattr


_ITEM_TYPES = (dict, list, tuple, str, range)


def _getitem_(obj: Any, key: Any) -> Any:
    """Guarded ``obj[key]``: plain data containers only."""
    if not isinstance(obj, _ITEM_TYPES):
        raise ScriptError(f"indexing a {type(obj).__name__} is not allowed in scripts")
    return obj[key]


def _write_(obj: Any) -> Any:
    """Guard for ``obj[k] = v`` and ``del obj[k]``: dicts and lists only."""
    if type(obj) in (dict, list):
        return obj
    raise ScriptError(f"cannot assign to or delete from a {type(obj).__name__}")


def _read_only_write_(obj: Any) -> Any:
    """Guard for item assignment inside expressions: always refused."""
    raise ScriptError("expressions are read-only: assign data in a script task")


def _builtins(read_only: bool) -> dict[str, Any]:
    """The complete ``__builtins__`` mapping for scripts (read_only=False) or expressions."""
    table = _READ_ONLY_ATTRS if read_only else _WRITABLE_ATTRS
    return {
        **_PLAIN_BUILTINS,
        "_getattr_": _make_getattr(table),
        "_getitem_": _getitem_,
        "_getiter_": iter,
        "_write_": _read_only_write_ if read_only else _write_,
        "_inplacevar_": _inplacevar_,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_apply_": _apply_,
        "_mul_": _mul_, "_add_": _add_, "_pow_": _pow_, "_lshift_": _lshift_, "_mod_": _mod_,
    }


_SCRIPT_BUILTINS = _builtins(read_only=False)
_EXPRESSION_BUILTINS = _builtins(read_only=True)


# --------------------------------------------------------------------------- compile policy

_FORBIDDEN_CALLS = frozenset("""
    eval exec compile globals locals vars getattr setattr delattr hasattr type object open input
    breakpoint dir help super memoryview classmethod staticmethod property exit quit""".split())
_FORMAT_NUMBER = re.compile(r"\d+")


def _tick_call(where: ast.AST) -> ast.Call:
    """A ``_tick_()`` call placed at the location of ``where``."""
    call = ast.Call(func=ast.Name("_tick_", ast.Load()), args=[], keywords=[])
    copy_locations(call, where)
    return call


def _tick_statement(where: ast.AST) -> ast.Expr:
    """A ``_tick_()`` statement placed at the location of ``where``."""
    stmt = ast.Expr(_tick_call(where))
    copy_locations(stmt, where)
    return stmt


def _is_simple(node: ast.AST) -> bool:
    """Side-effect-free subscript parts that may be evaluated twice (``d[k] += 1``)."""
    if isinstance(node, ast.Name | ast.Constant):
        return True
    return isinstance(node, ast.Subscript) and _is_simple(node.value) and _is_simple(node.slice)


class SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, stricter, plus time-budget ticks and size-guarded operators."""

    def visit_Import(self, node: ast.Import) -> ast.AST:
        """No imports at all."""
        self.error(node, "import statements are not allowed")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        """No imports at all."""
        self.error(node, "import statements are not allowed")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        """No class definitions (metaclasses and descriptors reach the interpreter)."""
        self.error(node, "class definitions are not allowed")
        return node

    def visit_Name(self, node: ast.Name) -> Any:
        """``print`` has no console here; RestrictedPython would rewrite it into a missing collector."""
        if isinstance(node.ctx, ast.Load) and node.id in ("print", "printed"):
            self.error(node, f"{node.id} is not available in scripts: store values in task data instead")
            return node
        return super().visit_Name(node)

    def visit_Call(self, node: ast.Call) -> Any:
        """Refuse calls of introspection and code-execution builtins by name."""
        if isinstance(node.func, ast.Name) and node.func.id in _FORBIDDEN_CALLS:
            self.error(node, f"{node.func.id}() is not allowed in scripts")
            return self.node_contents_visit(node)
        return super().visit_Call(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        """Route ``*``, ``+``, ``**``, ``<<`` and ``%`` through size-checking helpers."""
        node = self.node_contents_visit(node)
        helper = _BINOP_HELPERS.get(type(node.op))
        if helper is None:
            return node
        call = ast.Call(func=ast.Name(helper, ast.Load()), args=[node.left, node.right], keywords=[])
        copy_locations(call, node)
        return call

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        """Allow ``d[k] += v`` for simple subscripts by rewriting it to ``d[k] = d[k] + v``."""
        target = node.target
        if isinstance(target, ast.Subscript) and _is_simple(target.value) and _is_simple(target.slice):
            load = copy.deepcopy(target)
            load.ctx = ast.Load()
            binop = ast.BinOp(left=load, op=node.op, right=node.value)
            copy_locations(binop, node)
            assign = ast.Assign(targets=[target], value=binop)
            copy_locations(assign, node)
            return self.visit(assign)
        return super().visit_AugAssign(node)

    def visit_While(self, node: ast.While) -> Any:
        """Budget check at the top of every ``while`` body."""
        node = super().visit_While(node)
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_For(self, node: ast.For) -> Any:
        """Budget check at the top of every ``for`` body."""
        node = super().visit_For(node)
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        """Budget check at the top of every function body."""
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        """``lambda: body`` becomes ``lambda: _tick_() and body`` (``_tick_`` returns True)."""
        node = super().visit_Lambda(node)
        node.body = ast.BoolOp(op=ast.And(), values=[_tick_call(node.body), node.body])
        copy_locations(node.body, node.body.values[1])
        return node

    def visit_comprehension(self, node: ast.comprehension) -> Any:
        """Budget check as the first condition of every comprehension clause."""
        node = super().visit_comprehension(node)
        node.ifs.insert(0, _tick_call(node.iter))
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        """Handlers re-check the budget, so a caught timeout is raised again at once."""
        node = super().visit_ExceptHandler(node)
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_Try(self, node: ast.Try) -> Any:
        """``finally`` blocks re-check the budget too (``finally: return`` cannot swallow it)."""
        node = super().visit_Try(node)
        if node.finalbody:
            node.finalbody.insert(0, _tick_statement(node.finalbody[0]))
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        """f-string format specs must be literal and small (``f'{x:>999999999}'``)."""
        node = super().visit_FormattedValue(node)
        spec = node.format_spec
        if isinstance(spec, ast.JoinedStr):
            if not all(isinstance(part, ast.Constant) for part in spec.values):
                self.error(node, "computed f-string format specs are not allowed")
            text = "".join(str(part.value) for part in spec.values if isinstance(part, ast.Constant))
            if any(_too_wide(number) for number in _FORMAT_NUMBER.findall(text)):
                self.error(node, f"f-string format width above {MAX_FORMAT_WIDTH} is not allowed")
        return node


# --------------------------------------------------------------------------- compiling


class _Compiled(NamedTuple):
    """Result of compiling one source: code, or problems as (line, text) pairs."""

    code: types.CodeType | None
    problems: tuple[tuple[int | None, str], ...]
    syntax: bool


_RP_ERROR = re.compile(r"^Line (\d+|None): (.*)$", re.DOTALL)
_DMN_QUESTION_MARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def _parse_policy_error(text: str) -> tuple[int | None, str]:
    """Split RestrictedPython's ``'Line 3: message'`` into (3, 'message')."""
    match = _RP_ERROR.match(text)
    if not match:
        return None, text
    line = match.group(1)
    return (int(line) if line.isdigit() else None), match.group(2).rstrip(".")


def _problem(line: int | None, text: str, syntax: bool = False) -> _Compiled:
    """A failed compilation with one problem."""
    return _Compiled(None, ((line, text),), syntax)


def _compile(source: str, mode: str) -> _Compiled:
    """Compile through the cache unless the source is long (see CACHE_MAX_SOURCE)."""
    if len(source) > CACHE_MAX_SOURCE:
        return _compile_uncached(source, mode)
    return _compile_cached(source, mode)


def _compile_uncached(source: str, mode: str) -> _Compiled:
    """Parse, apply the sandbox policy and compile."""
    if len(source) > MAX_SOURCE:
        return _problem(None, f"source is longer than {MAX_SOURCE:,} characters")
    text = textwrap.dedent(source) if mode == "exec" else source.strip()
    try:
        tree = ast.parse(text, FILENAME, mode)
    except SyntaxError as err:
        return _problem(err.lineno, f"syntax error: {err.msg}", syntax=True)
    except (ValueError, RecursionError, MemoryError) as err:
        return _problem(None, f"cannot parse the source: {err}", syntax=True)
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    try:
        result = compiler(tree, FILENAME, policy=SandboxPolicy)
    except SyntaxError as err:  # raised by compile() itself, e.g. 'return' outside a function
        return _problem(err.lineno, f"syntax error: {err.msg}", syntax=True)
    except RecursionError:
        return _problem(None, "the source is nested too deeply")
    if result.errors:
        return _Compiled(None, tuple(_parse_policy_error(e) for e in result.errors), False)
    return _Compiled(result.code, (), False)


_compile_cached = functools.lru_cache(maxsize=CACHE_SIZE)(_compile_uncached)


def _render(problem: tuple[int | None, str]) -> str:
    """``'line 3: message'`` (or just the message when the line is unknown)."""
    line, text = problem
    return f"line {line}: {text}" if line else text


def _dmn_entry_expression(cell: str) -> str:
    """The expression SpiffWorkflow's DMN engine builds from a rule input cell (``> 5``, ``? < 3``)."""
    text = _DMN_QUESTION_MARK.sub("dmninputexpr", cell.strip())
    if "dmninputexpr" in text:
        return text
    try:
        ast.parse(text, mode="eval")
        return text
    except SyntaxError:
        return f"dmninputexpr {text}"


def check_source(source: str, mode: str) -> list[str]:
    """Lint without running; ``[]`` when the source would be accepted.

    ``mode`` is ``'exec'`` for scripts and pre/post scripts, ``'eval'`` for conditions, timers,
    multi-instance expressions and DMN input expressions/output cells, and ``'dmn_entry'`` for
    DMN rule input cells, which may be partial (``> 100``, ``? < 5``) like SpiffWorkflow's DMN engine allows.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if not isinstance(source, str):
        return [f"source must be text, not {type(source).__name__}"]
    if mode == "dmn_entry":
        if source.strip() in ("", "-"):  # an empty or '-' cell matches anything
            return []
        source, mode = _dmn_entry_expression(source), "eval"
    return [_render(problem) for problem in _compile(source, mode).problems]


def _code_for(source: Any, mode: str) -> types.CodeType:
    """Compiled code for ``source`` or a ScriptError/SandboxViolation saying what is wrong and where."""
    if not isinstance(source, str):
        raise ScriptError(f"expected script text, got {type(source).__name__}")
    compiled = _compile(source, mode)
    if compiled.code is not None:
        return compiled.code
    detail = "; ".join(_render(problem) for problem in compiled.problems)
    line = compiled.problems[0][0]
    if compiled.syntax:
        raise ScriptError(f"invalid {'script' if mode == 'exec' else 'expression'}: {detail}", line=line)
    raise SandboxViolation(f"refused by the script sandbox: {detail}", line=line)


# --------------------------------------------------------------------------- task data checks


_Entry = tuple[Any, Any, Any, int]  # (value, key in parent, parent entry, depth)
_JSON_SCALARS = frozenset((int, bool, type(None)))
_JSON_CONTAINERS = frozenset((dict, list, tuple))


def _path(entry: _Entry) -> str:
    """Readable key path (``items[2]['when']``) of a json_safe_check entry, shortened when very deep."""
    parts: list[str] = []
    while entry[2] is not None:
        _, key, parent, _ = entry
        parts.append(f"[{key!r}]" if parent[2] is not None else str(key))
        entry = parent
    parts.reverse()
    if len(parts) > 8:
        parts = parts[:4] + ["..."] + parts[-2:]
    return "".join(parts)


def _json_refusal(entry: _Entry, why: str) -> ScriptError:
    """A ScriptError naming the key path of ``entry``."""
    path = _path(entry)
    return ScriptError(f"task data key {path} {why}" if path else f"task data {why}")


def json_safe_check(data: dict) -> None:
    """Raise ScriptError naming the key path of the first value in ``data`` that is not plain JSON.

    Allowed: dict with str keys, list, tuple, str, int, bool, None and finite float. Refused: set,
    bytes, datetime and any other object, NaN/infinity, dicts with a ``typename`` key (the
    SpiffWorkflow serializer would try to turn them back into objects), cycles, and data that is
    too large (MAX_DATA_VALUES, MAX_DATA_CHARS) or nested deeper than MAX_DATA_DEPTH.
    """
    if type(data) is not dict:
        raise ScriptError(f"task data must be a dict, not {type(data).__name__}")
    stack: list[_Entry] = [(data, None, None, 0)]
    values = chars = 0
    while stack:
        entry = stack.pop()
        values += len(entry[0])
        if values > MAX_DATA_VALUES or chars > MAX_DATA_CHARS:
            raise ScriptError(f"task data is too large to store (over {MAX_DATA_VALUES:,} values "
                              f"or {MAX_DATA_CHARS:,} characters)")
        chars += _check_container(entry, stack)


def _check_container(entry: _Entry, stack: list[_Entry]) -> int:
    """Check the items of one dict/list/tuple, push nested containers; return characters of its strings."""
    container, _, _, depth = entry
    if depth >= MAX_DATA_DEPTH:
        raise _json_refusal(entry, f"is nested over {MAX_DATA_DEPTH} levels (or contains itself)")
    items = _dict_items(entry) if type(container) is dict else enumerate(container)
    chars = 0
    for key, item in items:
        kind = type(item)
        if kind is str:
            chars += len(item)
        elif kind in _JSON_SCALARS:
            continue
        elif kind in _JSON_CONTAINERS:
            stack.append((item, key, entry, depth + 1))
        elif kind is not float or not math.isfinite(item):
            raise _json_refusal((item, key, entry, depth + 1), _json_problem(item))
    return chars


def _dict_items(entry: _Entry) -> Iterable[tuple[str, Any]]:
    """Items of a dict entry after checking its keys."""
    value = entry[0]
    if "typename" in value:
        raise _json_refusal(entry, "has a 'typename' key, which the workflow serializer reserves; rename it")
    for key in value:
        if type(key) is not str:
            raise _json_refusal(entry, f"has a non-text key {key!r}: JSON keys are strings")
    return value.items()


def _json_problem(value: Any) -> str:
    """Why ``value`` cannot be stored, and how to fix it."""
    kind = type(value)
    if kind is float:
        return f"is {value}, which JSON cannot store"
    return f"holds a {kind.__name__}, which is not JSON: {_json_hint(kind)}"


def _json_hint(kind: type) -> str:
    """How to fix a common non-JSON value."""
    if kind in (set, frozenset):
        return "convert it with sorted(...) or list(...)"
    if kind.__name__ in ("datetime", "date", "time", "FakeDatetime", "FakeDate"):
        return "store an ISO 8601 string instead"
    if kind in (types.FunctionType, types.BuiltinFunctionType, types.MethodType):
        return "functions cannot be stored"
    return "store plain text, numbers, lists and dicts only"


# --------------------------------------------------------------------------- running


def _budget(seconds: float) -> tuple[Callable[[], bool], list[bool]]:
    """A ``_tick_`` guard raising ScriptTimeout after ``seconds``, and its 'expired' flag.

    Once expired every later tick raises again, so code that catches the timeout stops at its next
    loop iteration, call or handler; the flag makes the run fail even if the script swallowed it.
    """
    deadline = time.monotonic() + seconds
    expired = [False]

    def tick(now: Callable[[], float] = time.monotonic) -> bool:
        if now() > deadline:
            expired[0] = True
            raise ScriptTimeout(f"script ran longer than its time budget of {seconds:g} s")
        return True
    return tick, expired


def _script_line(tb: types.TracebackType | None) -> int | None:
    """Line of the innermost sandboxed-code frame in a traceback."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _visible(data: dict) -> dict:
    """The part of ``data`` scripts can see: names not starting with ``_``."""
    return {k: v for k, v in data.items() if type(k) is str and k[:1] != "_"}


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment running every script and expression under the sandbox policy."""

    def __init__(self, functions: dict[str, Callable[..., Any]] | None = None,
                 time_budget: float = 1.0) -> None:
        super().__init__()
        self._functions: dict[str, Callable[..., Any]] = {}
        self.globals = self._functions  # what SpiffWorkflow code expects to find
        self.time_budget = float(time_budget)
        for name, fn in (functions or {}).items():
            self.register(name, fn)

    def register(self, name: str, fn: Callable[..., Any]) -> None:
        """Expose a domain function to scripts, conditions and DMN cells (never stored in task data)."""
        if not isinstance(name, str) or not name.isidentifier() or name[:1] == "_" or keyword.iskeyword(name):
            raise ValueError(f"function name {name!r} must be an identifier not starting with '_'")
        if not callable(fn):
            raise TypeError(f"{name!r} is not callable")
        self._functions[name] = fn

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        """Evaluate a read-only expression over task data (conditions, timers, DMN cells...)."""
        code = _code_for(expression, "eval")
        namespace = self._namespace(_EXPRESSION_BUILTINS, context, external_context)
        return self._run(code, namespace, "eval")

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        """Run a script; new/changed top-level names go into ``context``, deleted ones leave it.

        Functions (registered or defined by the script), external context and ``_`` names never
        reach task data. Nothing changes in ``context`` if the script fails or leaves non-JSON data.
        """
        code = _code_for(script, "exec")
        self._refuse_clashes(context, external_context)
        namespace = self._namespace(_SCRIPT_BUILTINS, context, external_context)
        self._run(code, namespace, "exec")
        updates = self._updates(namespace, external_context)
        json_safe_check(updates)
        for key in [k for k in context if type(k) is str and k[:1] != "_" and k not in namespace]:
            del context[key]
        context.update(updates)
        return True

    def call_service(self, context: dict, **kwargs: Any) -> str:
        """Service tasks would run arbitrary operations: not enabled."""
        raise ScriptError("service tasks are not enabled")

    def _namespace(self, builtins: dict[str, Any], context: dict, external_context: dict | None) -> dict:
        """Globals for one run: guarded builtins, domain functions, external context, visible task data."""
        namespace: dict[str, Any] = {"__builtins__": builtins}
        namespace.update(self._functions)
        if external_context:
            namespace.update(_visible(external_context))
        namespace.update(_visible(context))
        return namespace

    def _run(self, code: types.CodeType, namespace: dict, mode: str) -> Any:
        """Run compiled code under the time budget; every failure becomes a located ScriptError."""
        tick, expired = _budget(self.time_budget)
        namespace["_tick_"] = tick
        try:
            if mode == "exec":
                result = exec(code, namespace)  # noqa: S102 - sandbox-compiled code, guarded builtins
            else:
                result = eval(code, namespace)  # noqa: S307 - sandbox-compiled code, guarded builtins
        except ScriptError as err:
            raise err.locate(_script_line(err.__traceback__)) from err.__cause__
        except Exception as err:
            message = f"{type(err).__name__}: {err}"
            raise ScriptError(message).locate(_script_line(err.__traceback__)) from err
        if expired[0]:
            raise ScriptTimeout(f"script ran longer than its time budget of {self.time_budget:g} s")
        return result

    def _refuse_clashes(self, context: dict, external_context: dict | None) -> None:
        """Task data named like a function would hide it (SpiffWorkflow refuses this too)."""
        clashes = set(self._functions).intersection(context)
        clashes.update(set(external_context or ()).intersection(context))
        if clashes:
            raise ScriptError(f"task data {sorted(clashes)} has the same name as a function or "
                              "external value; rename the field(s)")

    def _updates(self, namespace: dict, external_context: dict | None) -> dict:
        """Top-level names a script run leaves for task data."""
        updates = {}
        for key, value in namespace.items():
            if key[:1] == "_" or (external_context and key in external_context):
                continue
            function = self._functions.get(key)
            if function is not None:
                if value is function:
                    continue
                raise ScriptError(f"{key!r} is the name of a function: choose another variable name")
            if not callable(value):
                updates[key] = value
        return updates


# --------------------------------------------------------------------------- script engine


def _reported_exception(err: BaseException) -> BaseException:
    """The exception whose type SpiffWorkflow should report (the wrapped one for runtime errors)."""
    if type(err) is ScriptError and isinstance(err.__cause__, Exception):
        return err.__cause__
    return err


@functools.lru_cache(maxsize=4096)
def _parses(expression: str) -> None:
    ast.parse(expression)


class SandboxScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine bound to a SandboxEnvironment, reporting sandbox errors clearly."""

    def __init__(self, environment: SandboxEnvironment | None = None) -> None:
        environment = SandboxEnvironment() if environment is None else environment
        if not isinstance(environment, SandboxEnvironment):
            raise TypeError("SandboxScriptEngine runs only with a SandboxEnvironment")
        super().__init__(environment=environment)

    def validate(self, expression: str) -> None:
        """Syntax check (SpiffWorkflow's DMN engine asks for every cell on every evaluation): cached."""
        _parses(expression)

    def evaluate(self, task: Any, expression: str, external_context: dict | None = None) -> Any:
        """Evaluate for a task; failures become WorkflowTaskException carrying the sandbox message."""
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            raise WorkflowTaskException(f"Error evaluating expression '{expression}': {err}", task=task,
                                        exception=_reported_exception(err)) from err

    def call_service(self, task: Any, **kwargs: Any) -> str:
        """Report the real service error (the base class masks it as a NameError about 'script')."""
        try:
            return self.environment.call_service(task.data, **kwargs)
        except SpiffWorkflowException:
            raise
        except Exception as err:
            raise WorkflowTaskException(f"Service task failed: {err}", task=task, exception=err) from err

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Exception:
        """Task error for a failed script, with the sandbox message and its line."""
        if not isinstance(err, ScriptError):
            return super().create_task_exec_exception(task, script, err)
        line = err.line or 0
        lines = script.splitlines() if isinstance(script, str) else []
        error_line = lines[line - 1] if 0 < line <= len(lines) else ""
        return WorkflowTaskException(str(err), task=task, exception=_reported_exception(err),
                                     line_number=line, error_line=error_line)
