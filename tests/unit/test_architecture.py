"""The house rules, read from the code itself (each message names the file, the line and the rule):

- src/goldenpath, the shipped package, imports nothing from tests, tools, benchmarks or devkit;
- tests, tools and benchmarks share their helpers through devkit, the development-only package:
  devkit imports none of them, a tool imports no other tool, a benchmark no other benchmark, and
  no test module imports another (nor benchmarks or tools import tests);
- commands run through goldenpath.proc (servers through goldenpath.localservice, the one
  local-server helper) in src/, devkit/, tools/ and benchmarks/.

Each rule is shown to fail on a planted violation in a copy of this checkout's Python files.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from devkit import ROOT

CHECKED = ("src", "devkit", "tools", "benchmarks", "tests")
# The committed render, npm packages, and what the benchmarks leave in their (ignored) work folder.
SKIPPED = (
    "tests/golden",
    "tools/renovate/node_modules",
    "tests/schemas/node_modules",  # node-gyp's Python (gitlab-ci-local builds its re2 with it)
    "benchmarks/work",
    "build",
)
OUR_TOPS = {"tests", "tools", "benchmarks", "devkit"}
# Ways to start a process other than goldenpath.proc: module -> functions.
PROCESS_STARTERS = {
    "subprocess": {
        "run",
        "Popen",
        "call",
        "check_call",
        "check_output",
        "getoutput",
        "getstatusoutput",
    },
    "os": {"system", "popen", "posix_spawn", "posix_spawnp"}
    | {f"spawn{s}" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")}
    | {f"exec{s}" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")},
    "asyncio": {"create_subprocess_exec", "create_subprocess_shell"},
    "pty": {"spawn"},
}
# The one runner, and the one local-server helper (it starts servers with Popen).
RUNNERS = {"src/goldenpath/proc.py": None, "src/goldenpath/localservice.py": {"Popen"}}

RULE_SHIPPED = "src/goldenpath imports nothing from tests, tools, benchmarks or devkit"
RULE_SHARED = "tests, tools and benchmarks share helpers only through devkit"
RULE_PROC = "commands run through goldenpath.proc (servers through goldenpath.localservice)"


def python_files(root: Path) -> list[Path]:
    files = []
    for top in CHECKED:
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if not rel.startswith(SKIPPED):
                files.append(path)
    return files


def module_of(rel: str) -> list[str]:
    """Dotted module parts of a file as it is imported (src/ is the package root of goldenpath)."""
    parts = rel.removesuffix(".py").split("/")
    parts = parts[1:] if parts[0] == "src" else parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(tree: ast.Module, rel: str) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every import; relative imports resolved."""
    package = module_of(rel)
    if not rel.endswith("__init__.py"):
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return found


def import_violations(rel: str, tree: ast.Module) -> list[str]:
    top, mine = rel.split("/")[0], module_of(rel)
    problems = []
    for line, name in imported_modules(tree, rel):
        parts = name.split(".")
        where = f"{rel}:{line}: imports {name}"
        if top == "src" and parts[0] in OUR_TOPS:
            problems.append(f"{where} ({RULE_SHIPPED})")
        elif (top in {"devkit", "tools", "benchmarks"} and parts[0] == "tests") or (
            top == "devkit" and parts[0] in {"tools", "benchmarks"}
        ):
            problems.append(f"{where} ({RULE_SHARED})")
        elif top in {"tools", "benchmarks"} and parts[0] in {"tools", "benchmarks"}:
            # A tool or a benchmark imports only its own module or package, never another.
            if len(parts) > 1 and parts[:2] != mine[:2]:
                problems.append(f"{where} ({RULE_SHARED})")
        elif top == "tests" and (
            parts[0] == "benchmarks" or (parts[0] == "tests" and len(parts) > 2)
        ):
            problems.append(f"{where} ({RULE_SHARED})")
    return problems


def process_violations(rel: str, tree: ast.Module) -> list[str]:
    if rel.split("/")[0] == "tests" or RUNNERS.get(rel, set()) is None:
        return []
    allowed = RUNNERS.get(rel, set())
    problems = []
    for node in ast.walk(tree):
        called = None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.attr in PROCESS_STARTERS.get(node.value.id, set()):
                called = f"{node.value.id}.{node.attr}"
        elif isinstance(node, ast.ImportFrom) and node.module in PROCESS_STARTERS:
            names = {alias.name for alias in node.names} & PROCESS_STARTERS[node.module]
            called = ", ".join(f"{node.module}.{n}" for n in sorted(names)) or None
        if called and called.rsplit(".", 1)[-1] not in allowed:
            problems.append(f"{rel}:{node.lineno}: uses {called} ({RULE_PROC})")
    return problems


def violations(root: Path) -> list[str]:
    problems = []
    for path in python_files(root):
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(), filename=rel)
        problems += import_violations(rel, tree) + process_violations(rel, tree)
    return problems


def test_the_checkout_keeps_the_house_rules() -> None:
    assert violations(ROOT) == []


PLANTED = [
    ("src/goldenpath/planted.py", "from tests.render import test_chart\n", RULE_SHIPPED),
    ("src/goldenpath/planted.py", "import devkit.project\n", RULE_SHIPPED),
    ("src/goldenpath/fleet/planted.py", "from ...tools import golden\n", RULE_SHIPPED),
    ("benchmarks/fleet/planted.py", "from tests.generated import test_fleet\n", RULE_SHARED),
    ("benchmarks/fleet/planted.py", "from benchmarks.serving.run import measure\n", RULE_SHARED),
    ("tools/planted.py", "from tools.golden import GOLDEN\n", RULE_SHARED),
    ("devkit/planted.py", "import benchmarks.fleet.run\n", RULE_SHARED),
    ("tests/unit/test_planted.py", "from tests.unit.test_release import tags\n", RULE_SHARED),
    ("devkit/planted.py", "import subprocess\nsubprocess.run(['true'])\n", RULE_PROC),
    ("tools/planted.py", "from subprocess import check_output\n", RULE_PROC),
    ("benchmarks/batch/planted.py", "import os\nos.system('true')\n", RULE_PROC),
    ("src/goldenpath/planted.py", "import asyncio\nasyncio.create_subprocess_exec\n", RULE_PROC),
    ("src/goldenpath/localservice.py", "import subprocess\nsubprocess.run(['x'])\n", RULE_PROC),
]


@pytest.fixture(scope="module")
def checkout_copy(tmp_path_factory) -> Path:
    """This checkout's checked Python files, copied (nothing else is read)."""
    root = tmp_path_factory.mktemp("checkout")
    for path in python_files(ROOT):
        target = root / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return root


@pytest.mark.parametrize(("rel", "code", "rule"), PLANTED, ids=[f"{p[0]}:{p[1]}" for p in PLANTED])
def test_a_planted_violation_is_named_with_its_file_and_rule(
    checkout_copy: Path, rel: str, code: str, rule: str
) -> None:
    target = checkout_copy / rel
    original = target.read_text() if target.exists() else None
    target.write_text((original or "") + code)
    try:
        found = violations(checkout_copy)
    finally:
        if original is None:
            target.unlink()
        else:
            target.write_text(original)
    assert found, f"{rel} planted with {code!r} passed"
    assert all(problem.startswith(f"{rel}:") and f"({rule})" in problem for problem in found), found
