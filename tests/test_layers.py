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
    for module in ("veilperf.config.loader", "veilperf.config.checks", "veilperf.analysis.outputs"):
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
