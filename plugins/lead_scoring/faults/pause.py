"""Run a command with a pause point, so a kill lands at an exact place in a library's code.

    python -m lead_scoring.faults.pause after MODULE:OBJECT.FUNCTION -- lead-scoring extract

runs the ``lead-scoring extract`` console script in this process with ``FUNCTION`` wrapped:
the first time it is called, before or after its body, the process prints ``PAUSED`` and
the point, then waits to be killed. For windows too short to hit from outside (dlt commits
a normalized load package, then deletes the extracted copy, within a millisecond).
"""

from __future__ import annotations

import functools
import importlib
import sys
import time
from importlib.metadata import entry_points

PAUSED = "faults: paused"


def pause_at(when: str, target: str) -> None:
    """Wrap ``module:Object.function`` so that its first call pauses ``when`` (before/after)."""
    module, _, attribute = target.partition(":")
    owner = importlib.import_module(module)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)
    calls = []

    @functools.wraps(original)
    def paused(*args, **kwargs):
        calls.append(1)
        if when == "before" and len(calls) == 1:
            _wait(when, target)
        result = original(*args, **kwargs)
        if when == "after" and len(calls) == 1:
            _wait(when, target)
        return result

    setattr(owner, name, paused)


def _wait(when: str, target: str) -> None:
    print(f"{PAUSED} {when} {target}", flush=True)
    while True:
        time.sleep(60)


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[0] not in ("before", "after") or argv[2] != "--":
        sys.exit("usage: python -m lead_scoring.faults.pause before|after MODULE:NAME -- CMD ...")
    when, target, _, program, *args = argv
    pause_at(when, target)
    [script] = entry_points(group="console_scripts", name=program)
    sys.argv = [program, *args]
    sys.exit(script.load()())


if __name__ == "__main__":
    main(sys.argv[1:])
