"""User bytes a system call moves across the user/kernel boundary, judged from its return value.

Only calls whose successful return value *is* a byte count are classified: read-like calls copy that
many bytes out to the caller (``bytes_out``), write-like calls copy that many bytes in from the
caller (``bytes_in``). ``sendfile``, ``splice``, ``tee`` and ``copy_file_range`` move data between
file descriptors inside the kernel and copy no user bytes, so they count as zero (as do
``recvmmsg``/``sendmmsg``, whose return value counts messages). Argument structs
(e.g. ``struct stat``) and path strings are not counted: strace abbreviates them.
"""

from __future__ import annotations

READ_LIKE = frozenset({
    "read", "pread64", "readv", "preadv", "preadv2", "recvfrom", "recvmsg", "recv",
    "getdents", "getdents64", "getrandom", "readlink", "readlinkat", "getxattr", "lgetxattr",
    "fgetxattr", "listxattr", "llistxattr", "flistxattr", "getcwd",
})
WRITE_LIKE = frozenset({
    "write", "pwrite64", "writev", "pwritev", "pwritev2", "sendto", "sendmsg", "send",
})

VDSO_NOTE = (
    "vDSO calls (clock_gettime, gettimeofday, time, getcpu) run in user space and never appear in "
    "strace; their cost is inside the compute gaps."
)


def bytes_moved(name: str, ret: int | None) -> tuple[int, int]:
    """Return ``(bytes_in, bytes_out)`` for a call named ``name`` that returned ``ret``."""
    if ret is None or ret <= 0:
        return 0, 0
    if name in READ_LIKE:
        return 0, ret
    if name in WRITE_LIKE:
        return ret, 0
    return 0, 0
