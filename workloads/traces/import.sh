#!/usr/bin/env bash
# Re-create workloads/<name>.yaml from the shipped traces (sample mode, traced length).
#
#   bash workloads/traces/import.sh         # from the repository root, after record.sh
#
# Batch programs pass their untraced wall time and, for runs of 0.1 s or more, user CPU time
# (measured.tsv, fastest of 5): the strace overhead is measured, and the compute total is the user
# time. A server's trace also spans start-up and idle time around the load, so its overhead is
# the load phase's duration traced minus untraced (measured.tsv), as the closed-loop client saw it.
set -euo pipefail
cd "$(dirname "$0")/../.."
VEILPERF=${VEILPERF:-veilperf}
MACHINE="$(nproc)-vCPU $(lscpu | sed -n 's/^Model name: *//p') VM (family $(lscpu | sed -n 's/^CPU family: *//p'), model $(lscpu | sed -n 's/^Model: *//p')), Linux $(uname -r), Debian $(cat /etc/debian_version)"
DATE=$(date -u -r workloads/traces/measured.tsv +%F)

column() { awk -F'\t' -v n="$1" -v c="$2" '$1 == n { print $c "s" }' workloads/traces/measured.tsv; }
slowdown() { awk -F'\t' -v n="$1" '$1 == n { printf "%.6fs", $5 - $2 }' workloads/traces/measured.tsv; }

batch() { # name, workload name, input, description, command
  # getrusage splits user/system time by sampling at timer ticks: only trust it for runs >= 0.1 s
  local user=()
  awk -F'\t' -v n="$1" '$1 == n { exit !($2 >= 0.1) }' workloads/traces/measured.tsv \
    && user=(--user-time "$(column "$1" 3)")
  "$VEILPERF" workload import "workloads/traces/$1.strace.gz" --name "$2" --input "$3" \
    --description "$4" --command "$5" --machine "$MACHINE" --date "$DATE" \
    --wall-time "$(column "$1" 2)" "${user[@]}" --out "workloads/$2.yaml"
}
server() { # name, workload name, input, description, command
  "$VEILPERF" workload import "workloads/traces/$1.strace.gz" --name "$2" --input "$3" \
    --description "$4" --command "$5" --machine "$MACHINE" --date "$DATE" \
    --strace-overhead "$(slowdown "$1")" --out "workloads/$2.yaml"
}

batch gzip gzip "64 MiB of generated text (record.sh), compressed to ~15 MiB" \
  "gzip -6 of a 64 MiB text file: compute-bound batch" "gzip -6 -k -f text64M"
batch sha256sum sha256sum "the same 64 MiB text file" \
  "SHA-256 of a 64 MiB file: compute-bound batch, 32 KiB reads" "sha256sum text64M"
batch sqlite sqlite-inserts "CREATE TABLE + 2000 single-row INSERT statements (one transaction each)" \
  "SQLite 3.40 CLI, 2000 autocommit INSERTs: fsync- and syscall-bound batch" \
  "sqlite3 db.sqlite '.read inserts.sql'"
batch tar tar-small-files "2000 files of 100 B - 8 KiB in 20 directories (9.3 MiB)" \
  "GNU tar archiving 2000 small files: syscall-bound batch" "tar -cf small.tar small"
batch find find-walk "/usr/include (7911 files) of this machine" \
  "find printing every file's size (getdents64 + newfstatat walk): syscall-bound batch" \
  "find /usr/include -printf '%s\\n'"
server http http-static "loopback client: 1000 sequential GETs, new connection each, alternating 4 KiB and 64 KiB files" \
  "python3 -m http.server (ThreadingHTTPServer, a thread per request) under a closed-loop loopback load: server" \
  "/usr/bin/python3 -m http.server 8765 --bind 127.0.0.1 --directory www"
server redis redis "redis-benchmark -h 127.0.0.1 -p 6390 -n 20000 -c 10 -t set,get (40000 requests, 10 connections)" \
  "Redis 7.0 key-value store under SET/GET load from redis-benchmark on loopback: server" \
  "redis-server --port 6390 --bind 127.0.0.1 --save '' --appendonly no --daemonize no"
