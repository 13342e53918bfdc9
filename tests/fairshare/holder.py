"""A separate process that takes a slot of a fair queue, for the cross-process tests.

    python -m tests.fairshare.holder '{"root": ..., "redis": ..., "session": ..., "total": 2, ...}'

Prints one line per event (``waiting <ahead> <behind_own>``, ``running``, ``followed``, ``error <message>``)
and, once running, holds the slot until it reads a line on stdin (or is killed).
"""

from __future__ import annotations

import json
import os
import sys
import time

from auditapp.service.slot_backends import DiskQueueBackend, RedisQueueBackend
from auditapp.service.slots import AUDITS, Caps, FairQueue


def main() -> int:
    options = json.loads(sys.argv[1])
    backend = (RedisQueueBackend(options["redis"], "audits", ttl=options.get("ttl", 2.0)) if options.get("redis")
               else DiskQueueBackend(options["root"]))
    caps = Caps(total=options["total"], per_session=options["per_session"],
                max_waiting=options.get("max_waiting", 20), max_wait=options.get("max_wait", 120))
    queue = FairQueue(AUDITS, backend, caps, poll=0.05)

    def say(text: str) -> None:
        print(text, flush=True)

    try:
        with queue.slot(options["session"], key=options.get("key"),
                        on_wait=lambda p: say(f"waiting {p.ahead} {int(p.behind_own)}")) as slot:
            say("followed" if slot.followed else "running")
            if options.get("fork"):  # as Dash does for a background job, while this process holds the slot
                child = os.fork()
                if child == 0:
                    time.sleep(120)
                    os._exit(0)
                say(f"forked {child}")
            if not slot.followed:
                sys.stdin.readline()
    except Exception as exc:  # reported to the test, which asserts on it
        say(f"error {type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
