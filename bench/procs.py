"""What a benchmark reads of the server it started from Linux /proc: its process tree, the CPU
time and resident memory the tree has used."""

from __future__ import annotations

import os
from pathlib import Path


def process_tree(pid: int) -> list[int]:
    """A process and its descendants; a thread ending while it is read is skipped, not its process."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue  # the process is gone
        found.append(current)
        for task in tasks:
            try:
                pending += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def cpu_by_process(pid: int) -> dict[int, float]:
    """CPU seconds (user + system, all threads) each process of the tree has used so far."""
    used = {}
    for current in process_tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            used[current] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return used


def cpu_seconds(pid: int) -> float:
    """CPU seconds the whole tree has used so far (the gunicorn master and its worker)."""
    return sum(cpu_by_process(pid).values())


def rss_mb(pid: int) -> float:
    """Resident memory of the tree, in MiB."""
    total = 0
    for current in process_tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
        except (OSError, StopIteration):
            continue
    return total / 1024.0
