"""The machine line every benchmark prints first, so that a table can be copied with what it ran on."""
import datetime
import os
import platform

from tfx_nmt.models.devices import cpu_model


def machine_line() -> str:
    """`machine: <CPU model>, <n> cores usable (<m> online), <memory> GB RAM, Python x.y, <UTC date>`."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"machine: {cpu_model()}, {usable} cores usable ({os.cpu_count()} online), {memory_gb:.1f} GB RAM, "
            f"Python {platform.python_version()}, {date}")
