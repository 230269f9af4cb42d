"""Time a command: `python3 timeit.py --repeat 5 --setup "rm -f x" -- cmd...`.

The setup command (run by bash before every repetition) is not timed; the command's stdout is
discarded. Prints the wall, user and system seconds (6 decimals, tab-separated) of the fastest
repetition: on a shared machine other load only ever adds wall time. User and system times come
from getrusage of the command (and its children)."""

import argparse
import resource
import subprocess
import time

parser = argparse.ArgumentParser()
parser.add_argument("--repeat", type=int, default=5)
parser.add_argument("--setup", default="true")
parser.add_argument("command", nargs=argparse.REMAINDER)
args = parser.parse_args()
command = args.command[1:] if args.command[:1] == ["--"] else args.command
runs = []
for _ in range(args.repeat):
    subprocess.run(["bash", "-c", args.setup], check=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    runs.append((wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime))
print("\t".join(f"{value:.6f}" for value in min(runs)))
