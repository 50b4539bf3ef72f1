"""Kopf registrations: thin handlers that run the plain reconcilers in a thread and write their results.

:func:`register` adds every handler to a registry, with the timer intervals from the operator's settings.
"""

from __future__ import annotations

import kopf

from spiris_operator.handlers import connections, fiscal_year_syncs, lifecycle
from spiris_operator.settings import OperatorSettings

__all__ = ["register"]


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    """Register all handlers of the operator into ``registry``."""
    lifecycle.register(registry, settings)
    connections.register(registry, settings)
    fiscal_year_syncs.register(registry, settings)
