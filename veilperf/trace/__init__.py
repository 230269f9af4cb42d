"""strace traces to workloads: parse (`reader`), remove strace's overhead (`correction`), import as
an exact replay or a fitted mix (`importer`), and summarise a workload (`show`)."""

from veilperf.trace.importer import ImportOptions, ImportResult, import_trace
from veilperf.trace.reader import read_trace
from veilperf.trace.strace_parser import TraceError

__all__ = ["ImportOptions", "ImportResult", "TraceError", "import_trace", "read_trace"]
