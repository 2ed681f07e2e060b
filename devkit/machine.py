"""What every benchmark result records about the machine it ran on."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from goldenpath.proc import CommandError, run


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return 0.0


def machine() -> dict:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def package_versions(*names: str) -> dict[str, str]:
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def tool_version(*command: str) -> str:
    try:
        done = run(list(command), echo=False, check=False, timeout=30)
    except CommandError:  # not installed (or hung)
        return "not installed"
    # Some tools (wrk) print their version and exit non-zero; the first line is the answer anyway.
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else f"error (exit {done.returncode})"


def venv_versions(python: Path, packages: list[str]) -> dict[str, str]:
    """Versions of `packages` installed in the environment of another interpreter."""
    code = (
        "import json, importlib.metadata as m, sys; "
        "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))"
    )
    done = run([str(python), "-c", code, *packages], echo=False)
    return json.loads(done.stdout)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _proc_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, CPU ticks, resident pages) of every live process."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # Fields after the name: state ppid pgrp ... utime(11) stime(12) ... rss(21)
        table[int(stat.parent.name)] = (
            int(fields[1]),
            int(fields[11]) + int(fields[12]),
            int(fields[21]),
        )
    return table


def _tree(table: dict[int, tuple[int, int, int]], root: int) -> set[int]:
    tree, grew = {root}, True
    while grew:
        grown = tree | {pid for pid, row in table.items() if row[0] in tree}
        grew, tree = grown != tree, grown
    return tree


def tree_cpu_s(root: int) -> float:
    """User + system CPU seconds of a live process and all its descendants."""
    table = _proc_table()
    return sum(table[pid][1] for pid in _tree(table, root) if pid in table) / os.sysconf(
        "SC_CLK_TCK"
    )


def tree_rss_mib(root: int) -> float:
    """Resident memory of a live process and all its descendants, MiB."""
    table = _proc_table()
    pages = sum(table[pid][2] for pid in _tree(table, root) if pid in table)
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def tree_usage(root: int) -> tuple[float, float]:
    """(CPU seconds, resident MiB) of a live process and all its descendants, from one read of
    /proc: the processes alive now, not ones that already exited."""
    table = _proc_table()
    rows = [table[pid] for pid in _tree(table, root) if pid in table]
    cpu = sum(row[1] for row in rows) / os.sysconf("SC_CLK_TCK")
    return cpu, sum(row[2] for row in rows) * os.sysconf("SC_PAGE_SIZE") / 2**20


def cpu_busy_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (every core; /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    """The one-minute load average: runnable processes, of every user, on this machine."""
    return os.getloadavg()[0]
