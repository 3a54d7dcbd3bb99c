"""CPU seconds spent by each part of a LocalStack, from /proc (Linux), to say where time goes.

A part is a process tree: the process and every descendant alive at the reading, plus what its
descendants that already ended used (the kernel adds a reaped child's time to its parent's
``cutime``/``cstime``). Read before and after a phase; the difference is that phase's CPU.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from firebreak.stack import LocalStack

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def tree_seconds(pid: int, children: Mapping[int, list[int]], *, own_only: bool = False) -> float:
    """CPU seconds of ``pid`` (user + system) and, unless ``own_only``, of all its descendants."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    spent = sum(int(fields[i]) for i in (11, 12))  # utime, stime
    if own_only:
        return spent / _TICK
    spent += sum(int(fields[i]) for i in (13, 14))  # cutime, cstime: reaped children
    return spent / _TICK + sum(tree_seconds(child, children) for child in children.get(pid, []))


def postmaster_pid(stack: LocalStack) -> int | None:
    if stack.postgres is None:
        return None
    return int((stack.postgres.data_dir / "postmaster.pid").read_text().split()[0])


def stack_cpu(stack: LocalStack, extra: Mapping[str, int] | None = None) -> dict[str, float]:
    """Per part, CPU seconds so far: the stack's processes, ``extra`` (name -> pid) and this
    (benchmark) process alone."""
    children = _children()
    parts: dict[str, list[int]] = {
        "prefect_server": [stack.server.pid] if stack.server is not None and stack.server.pid else [],
        "postgres": [pid] if (pid := postmaster_pid(stack)) is not None else [],
        "workers": [w.process.pid for w in stack.workers],
        "forkservers": [f.process.pid for f in stack.forkservers],
        "receivers": [r.process.pid for r in stack.receivers],
    }
    parts |= {name: [pid] for name, pid in (extra or {}).items() if pid != os.getpid()}
    seconds = {name: sum(tree_seconds(pid, children) for pid in pids) for name, pids in parts.items()}
    seconds["benchmark"] = tree_seconds(os.getpid(), children, own_only=True)
    return seconds


def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {name: round(after[name] - before.get(name, 0.0), 1) for name in after}
