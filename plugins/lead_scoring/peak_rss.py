"""``python -m lead_scoring.peak_rss <command> [args...]``: run a command, then print its
peak resident set size as a last line ``peak_rss_kb=<n>``; exits with the command's status.

Why a separate process: on Linux, a child's ``ru_maxrss`` also counts the address space
it was forked from (exec records the old space's high-water mark), so a command started
straight from the benchmark, a process of several GB by then, would report the
benchmark's own memory. Started from this small process, it reports its own.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m lead_scoring.peak_rss <command> [args...]", file=sys.stderr)
        return 2
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # the child: become the command
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    print(f"peak_rss_kb={usage.ru_maxrss}", flush=True)  # kilobytes on Linux
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
