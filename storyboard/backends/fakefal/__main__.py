"""Command line: run a fake fal in the foreground and print how to point a client at it.

python -m storyboard.backends.fakefal [--port 0] [--processing-seconds S] [--concurrency N]
    [--chaos-rate R --seed N] [--fault KIND:PHASE[:TIMES[:MATCH]] …]
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
from collections.abc import Sequence

from storyboard.backends.fakefal.protocol import (
    DEFAULT_CHAOS_KINDS,
    FAULT_KINDS,
    PHASES,
    Fault,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed so a wrapping CLI can reuse its help)."""
    parser = argparse.ArgumentParser(
        prog="python -m storyboard.backends.fakefal",
        description="Run a fake fal.ai (queue, storage, CDN) on 127.0.0.1 for the real fal-client, as an HTTPS proxy.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: 0, any free port)")
    parser.add_argument("--processing-seconds", type=float, default=0.3, help="time a request spends IN_PROGRESS")
    parser.add_argument("--queue-seconds", type=float, default=0.0, help="minimum time a request spends IN_QUEUE")
    parser.add_argument("--concurrency", type=int, default=2, help="requests processed at once (fal's default: 2)")
    parser.add_argument(
        "--stuck-seconds",
        type=float,
        default=None,
        help="how long a stuck request stays IN_PROGRESS (default: forever, until cancelled)",
    )
    parser.add_argument("--chaos-rate", type=float, default=0.0, help="probability of a random fault per call")
    parser.add_argument(
        "--chaos-kinds",
        default=",".join(DEFAULT_CHAOS_KINDS),
        help="comma-separated fault kinds chaos picks from (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the chaos draw")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND:PHASE[:TIMES[:MATCH]]",
        help=f"inject a fault; KIND one of {', '.join(FAULT_KINDS)}; PHASE one of any, "
        f"{', '.join(PHASES)}; TIMES a count or * (default 1); MATCH a prompt substring",
    )
    parser.add_argument("--key", default=None, help="accept only this fal key (default: any 'Key …')")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fake until interrupted (Ctrl-C or SIGTERM); returns the exit code."""
    from storyboard.backends.fakefal import FakeFal

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        faults = tuple(Fault.parse(text) for text in args.fault)
        fake = FakeFal(
            port=args.port,
            processing_seconds=args.processing_seconds,
            queue_seconds=args.queue_seconds,
            concurrency=args.concurrency,
            stuck_seconds=args.stuck_seconds,
            chaos_rate=args.chaos_rate,
            chaos_kinds=tuple(k for k in args.chaos_kinds.split(",") if k),
            seed=args.seed,
            faults=faults,
            key=args.key,
        )
    except ValueError as exc:
        parser.error(str(exc))
    fake.start()
    stop = {"now": False}

    def _interrupt(signum: int, frame: object) -> None:
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(f"# fake fal listening on {fake.url} (control API: {fake.url}/_fake/); paste into a shell:")
        for name, value in fake.env.items():
            print(f"export {name}={shlex.quote(value)}")
        print("# and set FAL_KEY to anything, e.g.: export FAL_KEY=fake-key")
        sys.stdout.flush()
        while not stop["now"]:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
