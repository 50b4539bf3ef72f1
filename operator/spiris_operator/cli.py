"""``spiris-operator``: run the Kopf operator with our handlers and settings.

Namespaces come from ``SPIRIS_WATCH_NAMESPACES`` (or ``--namespace``, repeatable); none means the whole
cluster. With ``SPIRIS_LEADER_ELECTION_NAMESPACE`` set (the chart sets it to the release namespace) the
process is one of several replicas and runs Kopf only while it holds the Lease there
(:mod:`spiris_operator.active_standby`); without it, Kopf runs at once. Kopf itself always runs standalone
(no Kopf peering), with its liveness endpoint on ``SPIRIS_OPERATOR_HEALTH_PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import replace

import kopf
from kubernetes import client as k8s

from spiris_operator.active_standby import run_when_leader
from spiris_operator.handlers import register
from spiris_operator.kube_api import connect
from spiris_operator.leader_lease import LeaderLease, LeaseSettings
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

    async def operator(stop: asyncio.Event | None = None) -> None:
        await kopf.operator(
            registry=registry,
            standalone=True,
            clusterwide=not settings.namespaces,
            namespaces=settings.namespaces,
            liveness_endpoint=liveness,
            stop_flag=stop,
        )

    election = settings.leader_election_namespace
    if not election:
        asyncio.run(operator())
        return 0
    # A pod's hostname is its name; the pid tells two processes on one workstation apart.
    identity = f"{socket.gethostname()}-{os.getpid()}"
    lease = LeaderLease(
        k8s.CoordinationV1Api(connect(settings.kubeconfig).api_client),
        LeaseSettings(namespace=election, identity=identity),
    )
    return asyncio.run(
        run_when_leader(lease, operator, health_host=settings.bind_address, health_port=settings.health_port)
    )
