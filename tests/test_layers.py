"""The layering rules of docs/architecture.md that a test can check."""

from __future__ import annotations

import subprocess
import sys


def _imports_after(module: str, then: str = "") -> set[str]:
    """Modules loaded in a fresh interpreter after importing ``module`` and running ``then``."""
    code = f"import sys, {module}\n{then}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_config_and_analysis_layers_do_not_load_the_simulator():
    """Configuration never imports SimPy; analysis reads results and never re-simulates."""
    for module in ("veilperf.config.loader", "veilperf.config.checks", "veilperf.analysis.report.outputs"):
        loaded = _imports_after(module)
        assert "simpy" not in loaded, module
        assert "veilperf.model.system" not in loaded, module


def test_cli_starts_without_pandas_or_matplotlib():
    """Building the CLI parser stays cheap: heavy analysis libraries load only when plotting."""
    loaded = _imports_after("veilperf.cli", then="veilperf.cli.build_parser()")
    assert "matplotlib" not in loaded
    assert "pandas" not in loaded


def test_model_and_services_never_load_the_config_layer():
    """The run layer hands the model plain inputs: no module of veilperf.model or
    veilperf.services imports veilperf.config (or pydantic), checked in a fresh interpreter."""
    import pkgutil

    import veilperf.model
    import veilperf.services

    modules = [f"{pkg.__name__}.{m.name}" for pkg in (veilperf.model, veilperf.services)
               for m in pkgutil.iter_modules(pkg.__path__)]
    loaded = _imports_after(", ".join(modules))
    assert not {m for m in loaded if m.startswith("veilperf.config")}
    assert "pydantic" not in loaded


def test_the_model_imports_no_service():
    """The run layer hands the model its services' classes: importing the simulator (or any model
    module) in a fresh interpreter loads no ``veilperf.services`` module."""
    import pkgutil

    import veilperf.model

    modules = ["veilperf.model.system"] + [f"veilperf.model.{m.name}" for m in pkgutil.iter_modules(veilperf.model.__path__)]
    loaded = _imports_after(", ".join(modules))
    assert not {m for m in loaded if m.startswith("veilperf.services")}


def test_the_analysis_imports_no_sensitivity_study():
    """The sensitivity study builds on the analysis (its overhead basis), not the other way round:
    importing every analysis module, and drawing the report's inputs, loads no ``veilperf.sensitivity``."""
    import pkgutil

    import veilperf.analysis

    modules = [f"veilperf.analysis.{m.name}" for m in pkgutil.iter_modules(veilperf.analysis.__path__)]
    loaded = _imports_after(", ".join(modules))
    assert not {m for m in loaded if m.startswith("veilperf.sensitivity")}
    assert "simpy" not in loaded and "veilperf.model.system" not in loaded


def _package_imports() -> dict[str, set[str]]:
    """{veilperf package: veilperf packages its modules import at run time}, read from the source:
    imports inside functions count (they run on use), ``if TYPE_CHECKING:`` blocks do not."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "veilperf"

    def package(module: str) -> str:
        return module.split(".")[1] if module.count(".") else ""

    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        source = package(module) if (root / package(module)).is_dir() else ""
        targets = graph.setdefault(source, set())

        class Imports(ast.NodeVisitor):
            def visit_If(self, node: ast.If) -> None:
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    self.generic_visit(node)

            def visit_Import(self, node: ast.Import) -> None:
                targets.update(package(a.name) for a in node.names if a.name.startswith("veilperf."))

            def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
                if node.level == 0 and (node.module or "").startswith("veilperf."):
                    targets.add(package(node.module))

        Imports().visit(ast.parse(path.read_text()))
    return {source: {t for t in targets if t != source and (root / t).is_dir()} for source, targets in graph.items()}


KNOWN_CIRCLES: set[tuple[str, str]] = set()
"""Package imports that close a circle and are tolerated: none (config <-> sweep was one until the
safe-name rule moved to ``veilperf/names.py``)."""


def test_no_import_circle_between_packages():
    """The packages of veilperf import each other without a circle (model <-> services, analysis
    <-> sensitivity were two): a depth-first walk of the package graph, less the known circles,
    finds no back edge."""
    graph = _package_imports()
    for source, target in KNOWN_CIRCLES:
        graph.get(source, set()).discard(target)
    assert "services" in graph["config"] and "model" in graph["services"]  # the walk sees real edges
    assert not graph.get("model") and "services" not in graph["model"]
    assert "sensitivity" not in graph["analysis"] and "analysis" in graph["sensitivity"]
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            assert state.get(target) != "open", f"import circle: {' -> '.join([*path, node, target])}"
            if target not in state:
                visit(target, [*path, node])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
