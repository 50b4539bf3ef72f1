"""``spiris-operator``: run the Kopf operator with our handlers and settings.

Namespaces come from ``SPIRIS_WATCH_NAMESPACES`` (or ``--namespace``, repeatable); none means the whole
cluster. Kopf runs standalone (no peering), with its liveness endpoint on ``SPIRIS_OPERATOR_HEALTH_PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

import kopf

from spiris_operator.handlers import register
from spiris_operator.settings import load_settings

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spiris-operator", description=__doc__)
    parser.add_argument(
        "--namespace", "-n", action="append", default=[], help="namespace to watch (repeatable)"
    )
    parser.add_argument("--all-namespaces", "-A", action="store_true", help="watch the whole cluster")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.namespace:
        settings = replace(settings, namespaces=tuple(args.namespace))
    if args.all_namespaces:
        settings = replace(settings, namespaces=())
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # Kopf reports every successful timer tick at INFO; keep the log for what needs attention.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    registry = kopf.OperatorRegistry()
    register(registry, settings)
    liveness = (
        f"http://{settings.bind_address}:{settings.health_port}/healthz" if settings.health_port > 0 else None
    )
    asyncio.run(
        kopf.operator(
            registry=registry,
            standalone=True,
            clusterwide=not settings.namespaces,
            namespaces=settings.namespaces,
            liveness_endpoint=liveness,
        )
    )
    return 0
