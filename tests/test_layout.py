"""The package's layers, one way down, checked on the source.

    integrations   fsspec, fsspec_async, aio, loader, wds, cli, __main__
    core API       uplink-python's names: uplink, access, project, upload, download,
                   credentials, the package itself
    engine         engine/*: pools, cancel scopes, sources, targets, commit/version rules
    native         _native (loads _core and hands it the tables below), _core
    base           errors, module_classes, module_def, _version

A module imports only modules of its own layer or below, at module level and inside
functions alike (imports under ``if TYPE_CHECKING:`` are for typing only and not counted);
module-level imports form no cycle; the native module imports nothing of the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "uplink_py"
LAYERS = {
    "base": {"errors", "module_classes", "module_def", "_version"},
    "native": {"_native", "_core"},
    "engine": None,  # everything under engine/
    "core API": {"uplink", "access", "project", "upload", "download", "credentials", "timeouts", "__init__"},
    "integrations": {"fsspec", "fsspec_async", "aio", "loader", "wds", "cli", "__main__"},
}
ORDER = list(LAYERS)


def layer(module: str) -> int:
    if module == "engine" or module.startswith("engine."):
        return ORDER.index("engine")
    if module.startswith("cli."):  # the command line's own modules
        return ORDER.index("integrations")
    for index, names in enumerate(LAYERS.values()):
        if names is not None and module in names:
            return index
    raise AssertionError(f"uplink_py.{module} is in no layer: add it to tests/test_layout.py")


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts)
        out["__init__" if name == "__init__" else name.removesuffix(".__init__")] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """(module-level, all) imports of package modules made by ``name``, outside TYPE_CHECKING."""
    package = name.split(".")[:-1] if (path.name != "__init__.py") else name.split(".")
    if name == "__init__":
        package = []
    top: set[str] = set()
    every: set[str] = set()

    def visit(node: ast.AST, module_level: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            return
        found: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                if node.module is None or target in known or not target:
                    found += [f"{target}.{a.name}".lstrip(".") if f"{target}.{a.name}".lstrip(".") in known
                              else target for a in node.names]
                else:
                    found.append(target)
            elif node.module and node.module.startswith("uplink_py"):
                found.append(node.module.removeprefix("uplink_py").lstrip(".") or "__init__")
        elif isinstance(node, ast.Import):
            found += [a.name.removeprefix("uplink_py").lstrip(".") or "__init__" for a in node.names
                      if a.name.startswith("uplink_py")]
        for target in found:
            target = target or "__init__"
            every.add(target)
            if module_level:
                top.add(target)
        for child in ast.iter_child_nodes(node):
            inner = module_level and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            visit(child, inner if not isinstance(node, ast.ClassDef) else module_level)

    visit(ast.parse(path.read_text()), True)
    every.discard(name)
    top.discard(name)
    return top, every


known = set(modules()) | {"_core"}


def test_every_import_goes_down_or_sideways() -> None:
    wrong = []
    for name, path in sorted(modules().items()):
        _, every = imports(name, path)
        for target in sorted(every):
            if layer(target) > layer(name):
                wrong.append(f"{name} ({ORDER[layer(name)]}) imports {target} ({ORDER[layer(target)]})")
    assert wrong == []


def test_module_level_imports_have_no_cycle() -> None:
    graph = {name: imports(name, path)[0] for name, path in modules().items()}
    state: dict[str, int] = {}

    def walk(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        assert state.get(node) != 1, "import cycle: " + " -> ".join([*trail, node])
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            walk(target, [*trail, node])
        state[node] = 2

    for name in sorted(graph):
        walk(name, [])


def test_the_native_module_imports_nothing_of_the_package() -> None:
    cpp = Path(__file__).resolve().parent.parent / "src" / "cpp"
    offenders = [p.name for p in cpp.glob("*.[ch]pp") if "module_::import(" in p.read_text()]
    assert offenders == []


def test_the_checker_sees_imports() -> None:
    # The checks above are only worth something if imports are found at all.
    top, every = imports("project", PACKAGE / "project.py")
    assert {"engine", "_native", "module_classes"} <= top
    _, uplink_imports = imports("uplink", PACKAGE / "uplink.py")
    assert "access" in uplink_imports  # a function-level import
    assert layer("engine.uploads") == ORDER.index("engine")
