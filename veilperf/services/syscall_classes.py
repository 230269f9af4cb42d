"""Classes of Linux system calls, as audit rules select them (auditctl -S / filter keys)."""

from __future__ import annotations

_CLASSES = {
    "file": (
        "open openat openat2 creat close read write pread64 pwrite64 readv writev preadv pwritev "
        "lseek stat fstat lstat newfstatat statx access faccessat faccessat2 readlink readlinkat "
        "getdents getdents64 mkdir mkdirat rmdir unlink unlinkat rename renameat renameat2 link "
        "linkat symlink symlinkat chmod fchmod fchmodat chown fchown fchownat lchown truncate "
        "ftruncate fsync fdatasync sync utimensat fcntl flock ioctl fadvise64 copy_file_range "
        "sendfile splice statfs fstatfs getxattr lgetxattr fgetxattr setxattr listxattr dup dup2 dup3"
    ),
    "network": (
        "socket connect accept accept4 bind listen sendto recvfrom sendmsg recvmsg sendmmsg "
        "recvmmsg shutdown getsockname getpeername setsockopt getsockopt socketpair"
    ),
    "process": (
        "clone clone3 fork vfork execve execveat exit exit_group wait4 waitid kill tgkill tkill "
        "getpid gettid getppid getuid geteuid getgid getegid setuid setgid prctl arch_prctl "
        "set_tid_address set_robust_list rseq sched_yield sched_getaffinity prlimit64 getrlimit "
        "setrlimit rt_sigaction rt_sigprocmask rt_sigreturn sigaltstack uname capget capset"
    ),
    "memory": "mmap munmap mprotect mremap madvise brk mincore mlock munlock membarrier",
    "ipc": (
        "pipe pipe2 futex eventfd eventfd2 epoll_create epoll_create1 epoll_ctl epoll_wait "
        "epoll_pwait epoll_pwait2 poll ppoll select pselect6 shmget shmat msgsnd msgrcv semop"
    ),
    "time": "clock_gettime clock_nanosleep nanosleep gettimeofday time clock_getres getitimer setitimer",
}

SYSCALL_CLASS: dict[str, str] = {
    name: cls for cls, names in _CLASSES.items() for name in names.split()
}


def syscall_class(name: str) -> str:
    """The audit class of a system call name; ``other`` for names not in the table."""
    return SYSCALL_CLASS.get(name, "other")
