"""veilperf: a discrete-event performance simulator of Veil on AMD SEV-SNP confidential VMs.

Library entry points for notebooks and scripts: :func:`load_results` and :func:`overheads`.
"""

from __future__ import annotations

from veilperf.lazy import lazy_exports

__version__ = "0.1.0"
__all__ = ["__version__", "load_results", "overheads"]

# lazy: `import veilperf` stays cheap for the CLI and worker processes
__getattr__ = lazy_exports(__name__, {"load_results": "analysis", "overheads": "analysis"})
