#!/usr/bin/env bash
# Re-record every shipped trace on the current machine (see README.md in this directory).
#
#   bash workloads/traces/record.sh            # from the repository root
#
# For each program: generate its input deterministically in $WORK, time the untraced run
# (fastest of 5: wall, user and system seconds, by timeit.py), then run it once under `strace -f -tt -T` (the trace)
# and once under `strace -f -c` (the summary table). Servers are started under strace, loaded by a
# bounded client on 127.0.0.1 only, then stopped with SIGINT/SIGTERM. Results: <name>.strace.gz,
# <name>.c.txt, and one line per program in measured.tsv (untraced and traced wall times).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-/tmp/veilperf-trace-inputs}
TIMEIT="python3 $HERE/timeit.py"
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
    out.write("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\n")
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

record_batch() { # name, setup-command, command...
  local name=$1 setup=$2; shift 2
  local untraced traced
  untraced=$($TIMEIT --repeat 5 --setup "$setup" -- "$@")           # wall, user, sys
  traced=$($TIMEIT --repeat 1 --setup "$setup" -- strace -f -tt -T -o "$WORK/$name.strace" "$@" | cut -f1)
  bash -c "$setup"; strace -f -c -o "$HERE/$name.c.txt" "$@" >/dev/null
  gzip -9 -c "$WORK/$name.strace" > "$HERE/$name.strace.gz"
  measured "$name" "$untraced" "$traced" "$*"
}

measured() { # name, "untraced wall<TAB>user<TAB>sys", traced wall, command: replace its line
  [ -f "$HERE/measured.tsv" ] || printf 'name\tuntraced_wall_s\tuntraced_user_s\tuntraced_sys_s\ttraced_wall_s\tload_avg_1min\tcommand\n' > "$HERE/measured.tsv"
  grep -v "^$1	" "$HERE/measured.tsv" > "$HERE/measured.tsv.tmp" || true
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(cut -d' ' -f1 /proc/loadavg)" "$4" >> "$HERE/measured.tsv.tmp"
  mv "$HERE/measured.tsv.tmp" "$HERE/measured.tsv"
}

record_gzip()      { record_batch gzip      "rm -f text64M.gz" gzip -6 -k -f text64M; }
record_sha256sum() { record_batch sha256sum "true"             sha256sum text64M; }
record_sqlite()    { record_batch sqlite    "rm -f db.sqlite"  sqlite3 db.sqlite ".read inserts.sql"; }
record_tar()       { record_batch tar       "rm -f small.tar"  tar -cf small.tar small; }
record_find()      { record_batch find      "true"             find /usr/include -printf '%s\n'; }
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
  server_run "$name" "$port" "$load" strace -f -c -o "$HERE/$name.c.txt" "$@" >/dev/null
  gzip -9 -c "$WORK/$name.strace" > "$HERE/$name.strace.gz"
  measured "$name" "$untraced	-	-" "$traced" "$* (load phase only)"
}
# /usr/bin/python3, not a pyenv shim: the shim is a bash script that forks before exec.
record_http()  { record_server http 8765 http_load /usr/bin/python3 -m http.server 8765 --bind 127.0.0.1 --directory www; }
record_redis() { record_server redis 6390 redis_load redis-server --port 6390 --bind 127.0.0.1 --save "" --appendonly no --daemonize no; }

for name in ${@:-gzip sha256sum sqlite tar find http redis}; do "record_$name"; done
cat "$HERE/measured.tsv"
