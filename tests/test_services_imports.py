"""The services modules import one another one way: their import graph (imports inside functions included)
has no cycle, so no service reaches another through a late import to dodge one."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("customers", "rebates", "pricing_signals")


def services_modules() -> dict[str, Path]:
    """Module name -> file, for every services module and package of the apps."""
    modules = {}
    for app in APPS:
        single = ROOT / app / "services.py"
        if single.exists():
            modules[f"{app}.services"] = single
        package = ROOT / app / "services"
        for path in sorted(package.glob("*.py")) if package.is_dir() else ():
            name = f"{app}.services" if path.stem == "__init__" else f"{app}.services.{path.stem}"
            modules[name] = path
    return modules


def imported(path: Path, known) -> set[str]:
    """The services modules a file imports, at its top or anywhere inside it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from rebates.services import accrual` imports the submodule; `... import accrual_due` the package.
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                     for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def graph() -> dict[str, set[str]]:
    modules = services_modules()
    return {name: imported(path, modules) - {name} for name, path in modules.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as [a, b, ..., a], or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_check_finds_a_cycle_through_an_import_inside_a_function():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    source = ast.parse("def later():\n    from rebates.services.settlement import settlements_close_due\n")
    assert any(isinstance(node, ast.ImportFrom) for node in ast.walk(source))


def test_the_graph_reads_the_services_of_every_app():
    edges = graph()
    assert {"customers.services", "rebates.services.accrual", "rebates.services.settlement"} <= set(edges)
    assert "rebates.services.accrual" in edges["rebates.services.settlement"]


def test_services_modules_import_one_another_without_a_cycle():
    assert cycle(graph()) is None
