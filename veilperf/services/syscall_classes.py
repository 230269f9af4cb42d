"""Classes of Linux system calls as audit rules select them, and which calls name a path.

The classes follow how audit rule sets group calls (``auditctl -S`` lists, the kernel's own audit
classes in include/asm-generic/audit_{dir_write,change_attr,read,write}.h):

- ``file``: calls that open, create, remove, rename or change the attributes of files (what
  file-watch and file-integrity rules audit); not the data transfer on open descriptors.
- ``fileinfo``: metadata reads (stat family, access, readlink, directory listing).
- ``io``: data transfer on open descriptors, files and sockets alike (read/write, send/recv).
- ``network``: connection set-up and socket configuration (socket, bind, connect, accept, ...).
- ``process``, ``memory``, ``ipc``, ``time``, ``module``: as named; ``other``: everything else.
"""

from __future__ import annotations

_CLASSES = {
    "file": (
        "open openat openat2 creat close close_range truncate ftruncate unlink unlinkat rename "
        "renameat renameat2 link linkat symlink symlinkat mkdir mkdirat rmdir mknod mknodat chmod "
        "fchmod fchmodat chown fchown fchownat lchown utime utimes utimensat futimesat setxattr "
        "lsetxattr fsetxattr removexattr lremovexattr fremovexattr mount umount2 chdir fchdir chroot"
    ),
    "fileinfo": (
        "stat fstat lstat newfstatat statx access faccessat faccessat2 readlink readlinkat getdents "
        "getdents64 statfs fstatfs getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr getcwd"
    ),
    "io": (
        "read write pread64 pwrite64 readv writev preadv pwritev preadv2 pwritev2 lseek fsync "
        "fdatasync sync syncfs sendfile splice tee copy_file_range fadvise64 fallocate sendto "
        "recvfrom sendmsg recvmsg sendmmsg recvmmsg"
    ),
    "network": (
        "socket socketpair connect accept accept4 bind listen shutdown getsockname getpeername "
        "setsockopt getsockopt"
    ),
    "process": (
        "clone clone3 fork vfork execve execveat exit exit_group wait4 waitid kill tgkill tkill "
        "getpid gettid getppid getuid geteuid getgid getegid setuid setgid prctl arch_prctl "
        "set_tid_address set_robust_list rseq sched_yield sched_getaffinity prlimit64 getrlimit "
        "setrlimit rt_sigaction rt_sigprocmask rt_sigreturn sigaltstack uname capget capset getrandom"
    ),
    "memory": "mmap munmap mprotect mremap madvise brk mincore mlock munlock membarrier",
    "ipc": (
        "pipe pipe2 futex eventfd eventfd2 epoll_create epoll_create1 epoll_ctl epoll_wait "
        "epoll_pwait epoll_pwait2 poll ppoll select pselect6 shmget shmat msgsnd msgrcv semop"
    ),
    "time": "clock_gettime clock_nanosleep nanosleep gettimeofday time clock_getres getitimer setitimer",
    "module": "init_module finit_module delete_module",
}

CLASS_NAMES = (*_CLASSES, "other")

SYSCALL_CLASS: dict[str, str] = {
    name: cls for cls, names in _CLASSES.items() for name in names.split()
}

PATH_SYSCALLS = frozenset((
    "open openat openat2 creat truncate unlink unlinkat rename renameat renameat2 link linkat "
    "symlink symlinkat mkdir mkdirat rmdir mknod mknodat chmod fchmodat chown fchownat lchown utime "
    "utimes utimensat futimesat setxattr lsetxattr removexattr lremovexattr mount umount2 chdir "
    "chroot stat lstat newfstatat statx access faccessat faccessat2 readlink readlinkat statfs "
    "getxattr lgetxattr listxattr llistxattr execve execveat"
).split())
"""Calls that take a pathname: the kernel's audit event for them carries CWD and PATH records.
(``newfstatat``/``statx`` on an empty path with AT_EMPTY_PATH name none; counted as naming one.)"""


MM_CALLS = frozenset("mmap munmap mprotect brk mremap madvise".split())
"""Memory-management calls: the ones that change a process's address space. A workload step or
mix call of one of these may say how many pages it maps, unmaps or changes (``pages``); under
private enclave page tables each goes through VeilS-Enc."""

MAPPING_CALLS = frozenset(("mmap", "brk"))
"""Memory-management calls that add memory (a new mapping, heap growth): their pages enter the
page tables at their first touch. The others change or remove pages that are already mapped."""


def syscall_class(name: str) -> str:
    """The audit class of a system call name; ``other`` for names not in the table."""
    return SYSCALL_CLASS.get(name, "other")


def names_path(name: str) -> bool:
    """Whether the call takes a pathname (its audit event has CWD and PATH records)."""
    return name in PATH_SYSCALLS
