"""The test suite's house style, checked on the source (issue 12 B7).

- Every test function under ``tests/`` and ``benchmarks/`` states the behaviour
  it checks in a docstring.
- Benchmarks never import from ``tests``: they measure the product, and a
  benchmark must run (and mean the same) whatever the tests' helpers become.

Test functions are found as pytest collects them by default: functions named
``test*`` at module level, or methods named ``test*`` in classes named
``Test*``, in files named ``test_*.py`` or ``*_test.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_ROOTS = (ROOT / "tests", ROOT / "benchmarks")
BENCHMARKS = ROOT / "benchmarks"

Function = ast.FunctionDef | ast.AsyncFunctionDef


def collected_files() -> list[Path]:
    """Every file pytest would collect tests from, under tests/ and benchmarks/."""
    found = {path for root in TEST_ROOTS for pattern in ("test_*.py", "*_test.py")
             for path in root.rglob(pattern)}
    return sorted(found)


def collected_tests(tree: ast.Module) -> Iterator[Function]:
    """The test functions of a module: ``test*`` functions and ``Test*`` class methods."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) \
                and node.name.startswith("test"):
            yield node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef) \
                        and member.name.startswith("test"):
                    yield member


def undocumented(source: str) -> list[str]:
    """``line: name`` of every test function in the source without a docstring."""
    return [f"{fn.lineno}: {fn.name}" for fn in collected_tests(ast.parse(source))
            if not (ast.get_docstring(fn) or "").strip()]


def _names_tests(module: str | None) -> bool:
    return module is not None and (module == "tests" or module.startswith("tests."))


def imports_of_tests(source: str) -> list[int]:
    """Lines of the source that import the ``tests`` package, statically or by name."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            hit = any(_names_tests(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            hit = node.level == 0 and _names_tests(node.module)
        elif isinstance(node, ast.Call):  # importlib.import_module("tests..."), __import__
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                node.func.id if isinstance(node.func, ast.Name) else ""
            first = node.args[0] if node.args else None
            hit = name in ("import_module", "__import__") and isinstance(first, ast.Constant) \
                and isinstance(first.value, str) and _names_tests(first.value)
        else:
            continue
        if hit:
            lines.append(node.lineno)
    return lines


def test_every_test_function_has_a_docstring() -> None:
    """Every test function under tests/ and benchmarks/ has a non-empty docstring."""
    missing = []
    count = 0
    for path in collected_files():
        source = path.read_text(encoding="utf-8")
        count += sum(1 for _ in collected_tests(ast.parse(source)))
        missing += [f"{path.relative_to(ROOT)}:{where}" for where in undocumented(source)]
    assert count > 400, f"only {count} test functions found: is ROOT ({ROOT}) right?"
    assert not missing, "test functions without a docstring stating the behaviour checked:\n" \
        + "\n".join(missing)


def test_benchmarks_never_import_tests() -> None:
    """No module under benchmarks/ imports from the tests package."""
    modules = sorted(BENCHMARKS.rglob("*.py"))
    assert any(path.name == "harness.py" for path in modules)
    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in modules
                 for line in imports_of_tests(path.read_text(encoding="utf-8"))]
    assert not offenders, "benchmarks import from tests:\n" + "\n".join(offenders)


def test_the_checks_flag_what_they_forbid() -> None:
    """The checks flag an undocumented test and every way of importing tests, and nothing else.

    Helpers, fixtures and classes not named ``Test*`` need no docstring; a
    blank docstring counts as none; ``tests`` as part of another name is no
    import of the tests package.
    """
    source = '''
def helper():
    pass

def test_documented():
    """States the behaviour."""

def test_bare():
    assert True

async def test_blank():
    """  """

class TestGroup:
    def test_method(self):
        pass

    def helper(self):
        pass

class Plain:
    def test_not_collected(self):
        pass
'''
    assert undocumented(source) == ["8: test_bare", "11: test_blank", "15: test_method"]
    imports = '''import tests
import tests.helpers as h
from tests.helpers import run
from tests import helpers
import importlib
importlib.import_module("tests.helpers")
__import__("tests")
import pytests
from testsuite import x
from benchmarks.harness import measure
from . import tests
'''
    assert imports_of_tests(imports) == [1, 2, 3, 4, 6, 7]
