#!/usr/bin/env bash
# Re-record every shipped trace on the current machine (see README.md in this directory).
#
#   bash workloads/traces/record.sh [NAME...]      # from the repository root (default: all)
#
# Batch programs (gzip sha256sum sqlite tar find): `veilperf workload record` runs each in $WORK
# natively 5 times (the first a warm-up) and once under strace, and writes workloads/<name>.yaml
# with its trace workloads/traces/<name>.strace.gz and the measured native times.
# Servers (http redis): `record` cannot drive a server plus a load generator, so this script does:
# start the server (untraced, then under strace), load it with a bounded client on 127.0.0.1 only,
# stop it with SIGTERM, write the load phase's untraced and traced durations to measured.tsv, and
# import the trace with their difference as the strace overhead.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-/tmp/veilperf-trace-inputs}
VEILPERF=${VEILPERF:-veilperf}
NICE=${NICE:-0}   # e.g. NICE=-10 (as root) on a shared machine: the runs then get a CPU when they want one
mkdir -p "$WORK"
cd "$WORK"

# ---------- inputs (deterministic) ----------
if [ ! -f text64M ]; then
  python3 - <<'EOF'
import random
rng = random.Random(1)
words = ["veil", "enclave", "monitor", "replica", "switch", "kernel", "audit", "ring", "page",
         "secure", "nested", "paging", "vmsa", "vmpl", "guest", "host", "trace", "system", "call"]
with open("text64M", "w") as out:
    size = 0
    while size < 64 * 1024 * 1024:
        line = " ".join(rng.choice(words) for _ in range(12)) + f" {rng.randrange(10**9)}\n"
        out.write(line)
        size += len(line)
EOF
  truncate -s 64M text64M
fi
python3 - <<'EOF'
pad = "x" * 48
with open("inserts.sql", "w") as out:
    out.write("DROP TABLE IF EXISTS t;\nCREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\n")
    for i in range(2000):
        out.write(f"INSERT INTO t(v) VALUES('row {i:05d} payload {pad}');\n")
EOF
if [ ! -d small ]; then
  python3 - <<'EOF'
import os, random
rng = random.Random(2)
for d in range(20):
    os.makedirs(f"small/d{d:02d}", exist_ok=True)
    for f in range(100):
        with open(f"small/d{d:02d}/f{f:03d}.txt", "wb") as out:
            out.write(rng.randbytes(rng.randrange(100, 8192)))
EOF
fi
mkdir -p www
python3 -c "import random; open('www/page4k.html','wb').write(random.Random(3).randbytes(4096))"
python3 -c "import random; open('www/blob64k.bin','wb').write(random.Random(4).randbytes(65536))"

record() { # workload name, input, description, command...
  local name=$1 input=$2 description=$3; shift 3
  nice -n "$NICE" "$VEILPERF" workload record --name "$name" --out "$ROOT/workloads/$name.yaml" \
    --input "$input" --description "$description" -- "$@"
}
record_gzip() {
  record gzip "64 MiB of generated text (record.sh), compressed to ~15 MiB" \
    "gzip -6 of a 64 MiB text file: compute-bound batch" gzip -6 -k -f text64M
}
record_sha256sum() {
  record sha256sum "the same 64 MiB text file" \
    "SHA-256 of a 64 MiB file: compute-bound batch, 32 KiB reads" sha256sum text64M
}
record_sqlite() { # the script drops and re-creates its table, so every run starts alike
  record sqlite-inserts "DROP TABLE IF EXISTS + CREATE TABLE + 2000 single-row INSERT statements (one transaction each)" \
    "SQLite 3.40 CLI, 2000 autocommit INSERTs: fsync- and syscall-bound batch" sqlite3 db.sqlite ".read inserts.sql"
}
record_tar() {
  record tar-small-files "2000 files of 100 B - 8 KiB in 20 directories (9.3 MiB)" \
    "GNU tar archiving 2000 small files: syscall-bound batch" tar -cf small.tar small
}
record_find() {
  record find-walk "/usr/include of this machine" \
    "find printing every file's size (getdents64 + newfstatat walk): syscall-bound batch" \
    find /usr/include -printf '%s\n'
}
# (No shell wrappers: a wrapper's blocking wait4 would become a second thread of the trace.)

# ---------- servers: traced under load; load time measured with and without strace ----------
wait_port() { python3 - "$1" <<'EOF'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.1).close(); break
    except OSError:
        time.sleep(0.05)
EOF
}

http_load() { /usr/bin/python3 "$HERE/http_load.py" 8765 1000; }   # prints elapsed seconds

server_run() { # name, port, load-function, server command... ; prints load seconds
  # The server is stopped with SIGTERM sent to the server itself (when run under strace, to
  # strace's child), so strace records its end. (SIGINT is ignored by background jobs here.)
  local name=$1 port=$2 load=$3; shift 3
  "$@" >/dev/null 2>&1 & local pid=$!
  wait_port "$port"; local secs; secs=$($load)
  local server; server=$(ps --ppid "$pid" -o pid= | head -1); kill -TERM "${server:-$pid}"
  wait "$pid" || true
  echo "$secs"
}

redis_load() {
  python3 - <<'EOF'
import subprocess, time
t = time.perf_counter()
subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", "6390", "-n", "20000", "-c", "10",
                "-t", "set,get", "-q"], check=True, stdout=subprocess.DEVNULL)
print(f"{time.perf_counter() - t:.6f}")
EOF
}

record_server() { # name, port, load-function, server command...
  local name=$1 port=$2 load=$3; shift 3
  local untraced traced
  untraced=$(server_run "$name" "$port" "$load" "$@")
  traced=$(server_run "$name" "$port" "$load" strace -f -tt -T -o "$WORK/$name.strace" "$@")
  gzip -9 -c "$WORK/$name.strace" > "$HERE/$name.strace.gz"
  measured "$name" "$untraced" "$traced" "$* (load phase only)"
}

measured() { # name, untraced load seconds, traced load seconds, command: replace its line
  # (columns as written by the earlier batch recordings: a server has no user/system times)
  grep -v "^$1	" "$HERE/measured.tsv" > "$HERE/measured.tsv.tmp" || true
  printf '%s\t%s\t-\t-\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(cut -d' ' -f1 /proc/loadavg)" "$4" >> "$HERE/measured.tsv.tmp"
  mv "$HERE/measured.tsv.tmp" "$HERE/measured.tsv"
}

import_server() { # trace name, workload name, input, description, command
  local slowdown machine
  slowdown=$(awk -F'\t' -v n="$1" '$1 == n { printf "%.6fs", $5 - $2 }' "$HERE/measured.tsv")
  machine="$(nproc)-vCPU $(lscpu | sed -n 's/^Model name: *//p') VM, Linux $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")"
  "$VEILPERF" workload import "$HERE/$1.strace.gz" --name "$2" --input "$3" --description "$4" \
    --command "$5" --machine "$machine" --date "$(date -u -r "$HERE/measured.tsv" +%F)" \
    --strace-overhead "$slowdown" --out "$ROOT/workloads/$2.yaml"
}
# /usr/bin/python3, not a pyenv shim: the shim is a bash script that forks before exec.
record_http() {
  record_server http 8765 http_load /usr/bin/python3 -m http.server 8765 --bind 127.0.0.1 --directory www
  import_server http http-static "loopback client: 1000 sequential GETs, new connection each, alternating 4 KiB and 64 KiB files" \
    "python3 -m http.server (ThreadingHTTPServer, a thread per request) under a closed-loop loopback load: server" \
    "/usr/bin/python3 -m http.server 8765 --bind 127.0.0.1 --directory www"
}
record_redis() {
  record_server redis 6390 redis_load redis-server --port 6390 --bind 127.0.0.1 --save "" --appendonly no --daemonize no
  import_server redis redis "redis-benchmark -h 127.0.0.1 -p 6390 -n 20000 -c 10 -t set,get (40000 requests, 10 connections)" \
    "Redis 7.0 key-value store under SET/GET load from redis-benchmark on loopback: server" \
    "redis-server --port 6390 --bind 127.0.0.1 --save '' --appendonly no --daemonize no"
}

for name in ${@:-gzip sha256sum sqlite tar find http redis}; do "record_$name"; done
