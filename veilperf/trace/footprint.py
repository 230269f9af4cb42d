"""A program's memory as seen in its trace: the footprint of a blind import.

Without a measured peak RSS, the memory a program touches is bounded by what it maps:

* ``mmap`` lengths, file-backed and anonymous alike (``munmap`` gives back, ``mremap`` resizes); the
  running total over the whole trace, all processes together, is tracked and its peak kept;
* heap growth by ``brk``: per process, the highest break returned minus the first;
* the executed binaries (``execve`` paths), whose size is read from this machine's file system when
  the file exists here (the kernel maps them, so they never appear as an ``mmap``).

This over-counts memory that is mapped but never touched (reserved stacks, sparse heaps, whole
shared libraries) and misses pages shared with other processes: an upper-side estimate of the
enclave's memory, stated as such in ``provenance.footprint_source``.

The same arguments give each memory-management call's pages (a workload step's ``pages``): the
length of mmap, munmap, mprotect and madvise and mremap's new size, in 4 KiB pages rounded up;
for brk, the break's move since the thread's previous brk (0 for the first, a query).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from veilperf.model.costs import PAGE_SIZE

_INT = r"(0x[0-9a-fA-F]+|\d+)"
_MMAP_LEN = re.compile(rf"^[^,]+,\s*{_INT},[^,]*,\s*(?P<flags>[^,]*)")
_LENGTH = re.compile(rf"^[^,]+,\s*{_INT}")  # munmap, mprotect, madvise: (addr, length, ...)
_MREMAP = re.compile(rf"^[^,]+,\s*{_INT},\s*{_INT}")
_EXEC_PATH = re.compile(r'^"(?P<path>(?:[^"\\]|\\.)*)"')


def _int(text: str) -> int:
    return int(text, 16 if text.startswith("0x") else 10)


MAX_PAGES = (1 << 64) // PAGE_SIZE
"""Pages of a 64-bit address space: no call touches more (a corrupt trace's length is capped here)."""


def _pages(length: int) -> int:
    return min(-(-length // PAGE_SIZE), MAX_PAGES)


@dataclass
class MemoryTally:
    """Fed every successful call's name, argument text and return value; sums what is mapped."""

    mapped: int = 0  # current mmap total
    peak_mapped: int = 0
    file_backed: int = 0  # summed mmap lengths by kind (never decreased)
    anonymous: int = 0
    brk_first: dict[int, int] = field(default_factory=dict)  # tid -> first break seen
    brk_top: dict[int, int] = field(default_factory=dict)  # tid -> highest break seen
    brk_last: dict[int, int] = field(default_factory=dict)  # tid -> break after its last brk
    binaries: set[str] = field(default_factory=set)

    def feed(self, tid: int, name: str, args: str, ret: int | None) -> int:
        """Account one call that did not fail; returns the pages a memory-management call maps,
        unmaps or changes (0 for any other call)."""
        if name == "mmap" and (m := _MMAP_LEN.match(args)):
            length = _int(m[1])
            if "MAP_ANONYMOUS" in m["flags"]:
                self.anonymous += length
            else:
                self.file_backed += length
            self._grow(length)
            return _pages(length)
        if name in ("munmap", "mprotect", "madvise") and (m := _LENGTH.match(args)):
            if name == "munmap":
                self.mapped = max(0, self.mapped - _int(m[1]))
            return _pages(_int(m[1]))
        if name == "mremap" and (m := _MREMAP.match(args)):
            self._grow(_int(m[2]) - _int(m[1]))
            return _pages(_int(m[2]))
        if name == "brk" and ret:
            self.brk_first.setdefault(tid, ret)
            self.brk_top[tid] = max(self.brk_top.get(tid, ret), ret)
            last, self.brk_last[tid] = self.brk_last.get(tid, ret), ret
            return _pages(abs(ret - last))
        if name == "execve" and (m := _EXEC_PATH.match(args)):
            self.binaries.add(m["path"])
        return 0

    def _grow(self, delta: int) -> None:
        self.mapped = max(0, self.mapped + delta)
        self.peak_mapped = max(self.peak_mapped, self.mapped)

    @property
    def brk_growth(self) -> int:
        return sum(self.brk_top[tid] - first for tid, first in self.brk_first.items())

    def binary_bytes(self) -> tuple[int, list[str]]:
        """Total size of the executed binaries found on this machine, and those not found."""
        total, missing = 0, []
        for path in sorted(self.binaries):
            try:
                total += os.stat(path).st_size
            except OSError:
                missing.append(path)
        return total, missing

    def footprint(self) -> tuple[int, str]:
        """(bytes, how they were obtained) for ``footprint`` and ``provenance.footprint_source``."""
        binaries, missing = self.binary_bytes()
        total = self.peak_mapped + self.brk_growth + binaries
        mib = 1 << 20
        source = (f"mapped memory seen in the trace: peak mmap total {self.peak_mapped / mib:.1f} MiB "
                  f"(mmap lengths: file-backed {self.file_backed / mib:.1f} MiB, anonymous "
                  f"{self.anonymous / mib:.1f} MiB; munmap/mremap counted), brk growth "
                  f"{self.brk_growth / mib:.1f} MiB, executed binaries {binaries / mib:.1f} MiB"
                  + (f" ({len(missing)} not found on this machine: {', '.join(missing[:3])})" if missing else "")
                  + "; an upper-side estimate (mapped, not necessarily touched)")
        return total, source
