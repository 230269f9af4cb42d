// Measurement program of workloads/kci-seccomp-spawn.yaml: gcc -O2 -o spawn kci-seccomp-spawn.c;
// ./spawn 3000 0 (no filter) and ./spawn 3000 300 (300-check allow-list), several runs, minimum kept.
// fork a child that (optionally) installs a seccomp filter of N allow-list checks, then exits;
// parent waits. Prints mean ns per spawn over ITER iterations.
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/audit.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sock_filter prog[4096];
static int build(int checks) {
    int n = 0;
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (int i = 0; i < checks; i++)   // allow syscalls 0..checks-1, one compare each (allow-list shape)
        prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, i, checks - i, 0);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);  // default: allow (harmless)
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    return n;
}
int main(int argc, char **argv) {
    int iters = atoi(argv[1]), checks = atoi(argv[2]);
    struct sock_fprog fprog = {.len = (unsigned short)build(checks), .filter = prog};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < iters; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (checks > 0) {
                prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog)) _exit(1);
            }
            _exit(0);
        }
        int st; waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st)) { fprintf(stderr, "child failed\n"); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%d %d %.0f\n", checks, fprog.len, ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / iters);
    return 0;
}
