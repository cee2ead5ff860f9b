"""The layers: doors (CLI, web app and API, scheduler) call the service, never the store or
a stage.  ``docs/architecture.md`` draws them.

Every door is clean: ``LEGACY`` (the doors once allowed to reach below, each a debt to
move into ``distributor/service``) is empty and may not grow again.  A door that needs
something below adds it to the service.  ``from distributor import pipeline`` counts
as importing ``distributor.pipeline``.  Imports made only for type checking
(``if TYPE_CHECKING:``) do not couple at run time and are allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "distributor"
BELOW = (
    "distributor.store",
    "distributor.pipeline",
    "distributor.sources",
    "distributor.selection",
    "distributor.render",
    "distributor.share",
    "distributor.dispatch",
    "distributor.mail",
    "distributor.social",
    "distributor.queue",
)
DOORS = [*sorted((ROOT / "cli").glob("*.py")), *sorted((ROOT / "web").glob("*.py"))]
DOORS.append(ROOT / "scheduler.py")
CLEAN = {"cli/editions.py", "web/editions.py", "web/editor_editions.py", "web/api_editions.py"}
LEGACY: dict[str, set[str]] = {}


def _type_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    lines.add(inner.lineno)
    return lines


def imports_below(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            # ``from distributor import pipeline`` imports distributor.pipeline
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if _below(node.module):
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n for n in names if _below(n)}
    return found


def _below(name: str) -> bool:
    return any(name == b or name.startswith(b + ".") for b in BELOW)


def test_doors_reach_below_the_service_only_where_listed() -> None:
    seen: dict[str, set[str]] = {}
    for path in DOORS:
        name = str(path.relative_to(ROOT))
        below = imports_below(path)
        if name in CLEAN:
            assert not below, f"{name} must call distributor.service only, imports {below}"
        new = below - LEGACY.get(name, set())
        assert not new, f"{name} reaches below the service: {sorted(new)} (add it to the service)"
        if below:
            seen[name] = below
    stale = {k: v - seen.get(k, set()) for k, v in LEGACY.items() if v - seen.get(k, set())}
    assert not stale, f"moved into the service: remove from LEGACY {stale}"


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    door = tmp_path / "door.py"
    door.write_text(
        "from typing import TYPE_CHECKING\n"
        "from distributor.store.web import WebStore\n"
        "from distributor import pipeline, models\n"
        "if TYPE_CHECKING:\n    from distributor.pipeline import Context\n",
        encoding="utf-8",
    )
    assert imports_below(door) == {"distributor.store.web", "distributor.pipeline"}


def test_context_is_built_in_one_place() -> None:
    """Nothing calls ``Context(...)``: every context comes from ``Context.open``."""
    makers = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name | ast.Attribute)
        and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) == "Context"
    ]
    assert makers == [], makers
