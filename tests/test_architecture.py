"""The layout ARCHITECTURE.md describes, checked on the source: boundaries, cycles, privacy, function length,
each module's job.

Everything here reads the code with ``ast``; nothing is imported except in the one subprocess that
checks what ``import glassnet`` loads.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "glassnet"

#: The engine: it needs NumPy only and never imports the layers above it.
CORE = (
    "glassnet",
    "glassnet._validation",
    "glassnet._version",
    "glassnet.exceptions",
    "glassnet.parameter",
    "glassnet.floats",
    "glassnet.init",
    "glassnet.layers",
    "glassnet.losses",
    "glassnet.network",
    "glassnet.affine",
    "glassnet.builders",
    "glassnet.ensemble",
    "glassnet.recipe",
    "glassnet.optim",
    "glassnet.rmsprop",
    "glassnet.data",
    "glassnet.pages",
    "glassnet.kernels",
    "glassnet.gradcheck",
    "glassnet.training",
    "glassnet.training.loop",
    "glassnet.training.callbacks",
    "glassnet.training.history",
    "glassnet.training.metrics",
    "glassnet.training.targets",
    "glassnet.training.evaluation",
    "glassnet.training.divergence",
    "glassnet.training.interrupts",
    "glassnet.training.progress",
    "glassnet.training.state",
    "glassnet.training.folds",
)
#: What the core must not import, at module level or inside a function.
ABOVE_CORE = (
    "glassnet.app",
    "glassnet.cli",
    "glassnet.io",
    "glassnet.diagnostics",
    "glassnet.sklearn",
    "glassnet.tabular",
    "glassnet.columns",
    "glassnet.images",
    "glassnet.plots",
    "glassnet.notebook",
    "glassnet.tracking",
    "glassnet.datasets",
    "glassnet.__main__",
    "glassnet.training.fit",
    "glassnet.training.grow",
    "glassnet.training.executors",
)
#: Deliberate upward imports, each inside one function, with the reason.
ALLOWED_UPWARD = {
    # Sequential.fit is a convenience alias of glassnet.fit (as Keras has Model.fit).
    ("glassnet.network", "glassnet.training.fit"),
    # Jupyter's rich display of a History draws with matplotlib, above the core.
    ("glassnet.training.history", "glassnet.notebook"),
}
#: Functions may have this many lines (from ``def`` to the end, docstring excluded).
MAX_FUNCTION_LINES = 59


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = (path, ast.parse(path.read_text(encoding="utf-8")))
    return found


MODULES = _modules()


def _target(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, module_level_only: bool) -> set[str]:
    """glassnet modules ``module`` imports (``from pkg import submodule`` counts the submodule)."""
    path, tree = MODULES[module]
    nodes: list[ast.AST] = []
    if module_level_only:
        for node in tree.body:  # top-level statements; `if TYPE_CHECKING:` blocks are not run
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            nodes.extend(ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node])
    else:
        nodes = list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("glassnet"))
        elif isinstance(node, ast.ImportFrom):
            target = _target(module, path, node)
            if not target.startswith("glassnet"):
                continue
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES)
    return {name for name in found if name in MODULES and name != module}


def _in(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _is_core(module: str) -> bool:
    return module in CORE or module.startswith(("glassnet.layers.", "glassnet.kernels."))


def test_the_core_never_imports_the_layers_above_it():
    crossings = sorted(
        (module, target)
        for module in MODULES
        if _is_core(module)
        for target in _imports(module, module_level_only=False)
        if _in(target, ABOVE_CORE) and (module, target) not in ALLOWED_UPWARD
    )
    assert crossings == [], f"core modules import the application side: {crossings}"


def test_every_module_is_placed_in_a_layer():
    placed = [m for m in MODULES if _is_core(m) or _in(m, ABOVE_CORE)]
    assert sorted(set(MODULES) - set(placed)) == []


#: Import cycles allowed on purpose (deferred imports, inside a function).
ALLOWED_CYCLE_EDGES = {("glassnet.network", "glassnet.training.fit")}  # Sequential.fit, Keras's Model.fit


def _runtime_imports(module: str) -> set[str]:
    """Every import ``module`` runs, at module level or inside a function (``TYPE_CHECKING`` ones aside)."""
    path, tree = MODULES[module]
    checking = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in checking:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("glassnet"))
        elif isinstance(node, ast.ImportFrom):
            target = _target(module, path, node)
            if target.startswith("glassnet"):
                found.add(target)
                found.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES)
    return {name for name in found if name in MODULES and name != module and (module, name) not in ALLOWED_CYCLE_EDGES}


def test_there_are_no_import_cycles():
    """Deferred or not: an import inside a function closes a cycle as surely, only later."""
    graph = {module: _runtime_imports(module) for module in MODULES}
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            # Importing a package's submodule runs the package first; the package importing its
            # own submodules is how packages work, not a cycle.
            if module.startswith(target + "."):
                continue
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target) :] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[module] = 2

    for module in MODULES:
        if module not in state:
            visit(module, [module])
    assert cycles == [], f"import cycles: {cycles}"


def test_no_module_reaches_into_another_modules_private_members():
    defined: dict[str, set[str]] = {}
    for module, (_path, tree) in MODULES.items():
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
        defined[module] = names
    # scikit-learn's own conventions for estimators: these private names are its API.
    sklearn_api = {"_validate_params", "_parameter_constraints"}
    reaches = []
    for module, (path, tree) in MODULES.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if node.attr in defined[module] or node.attr in sklearn_api:
                continue
            reaches.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {ast.unparse(node)}")
    assert reaches == [], "private members used across modules:\n" + "\n".join(reaches)


def _function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def test_functions_are_short():
    long = []
    for _module, (path, tree) in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = _function_lines(node)
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} ({length} lines)")
    assert long == [], "functions over 59 lines (docstrings excluded):\n" + "\n".join(long)


def test_every_module_states_its_one_job_in_architecture_md():
    """The rule of cohesion that replaced the line cap: every module is named in ARCHITECTURE.md's
    tree with its one job (a module is as long as that job needs; functions stay short)."""
    architecture = (PACKAGE.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    unlisted = [
        str(path.relative_to(PACKAGE.parent))
        for path, _tree in MODULES.values()
        if path.name != "__init__.py" and not re.search(rf"(?<![\w.]){re.escape(path.name)}", architecture)
    ]
    assert unlisted == [], "modules without their job in ARCHITECTURE.md:\n" + "\n".join(unlisted)


def test_tests_use_public_names_only():
    """Tests are users: ``from glassnet.x import _y`` ties them to what a module keeps to itself."""
    private = []
    for path in sorted((PACKAGE.parent / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("glassnet"):
                private += [
                    f"{path.name}:{node.lineno} {alias.name}" for alias in node.names if alias.name.startswith("_")
                ]
    assert private == [], "tests importing private names:\n" + "\n".join(private)


def test_no_module_name_repeats_across_packages():
    """``app/recipe.py`` beside ``recipe.py``, ``app/outputs.py`` beside ``io/outputs.py``: a newcomer opened
    the wrong one. ``__init__.py`` aside, a module's file name is unique in the package."""
    seen: dict[str, list[str]] = {}
    for path, _tree in MODULES.values():
        if path.name != "__init__.py":
            seen.setdefault(path.name, []).append(str(path.relative_to(PACKAGE.parent)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}


@pytest.mark.parametrize("module", ["glassnet"])
def test_importing_glassnet_loads_numpy_only(module):
    code = (
        f"import sys; before = set(sys.modules); import {module}; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(sorted(new - {'glassnet', 'numpy'} - set(sys.stdlib_module_names)))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]", completed.stdout


def test_the_core_is_not_on_the_type_check_allowlist():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["strict"] is True
    allowlist = [
        name for override in config.get("overrides", []) if override.get("ignore_errors") for name in override["module"]
    ]
    exempt = [
        m
        for m in MODULES
        if _is_core(m) and any(m == a or (a.endswith(".*") and m.startswith(a[:-1])) for a in allowlist)
    ]
    assert exempt == [], f"core modules exempt from the strict type check: {exempt}"
    assert all(_in(a.removesuffix(".*"), ABOVE_CORE) for a in allowlist), allowlist
