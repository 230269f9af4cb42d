"""Bounded closed-loop HTTP load on loopback: `python3 http_load.py PORT N`.

One client, N sequential GET requests (alternating a 4 KiB page and a 64 KiB file), each on a new
connection (http.server speaks HTTP/1.0). Prints the elapsed seconds of the whole load."""

import sys
import time
import urllib.request

port, count = int(sys.argv[1]), int(sys.argv[2])
paths = ["/page4k.html", "/blob64k.bin"]
start = time.perf_counter()
for i in range(count):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{paths[i % 2]}", timeout=10) as reply:
        reply.read()
print(f"{time.perf_counter() - start:.6f}")
