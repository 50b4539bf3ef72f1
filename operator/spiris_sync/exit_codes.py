"""The worker's process exit codes and the errors that map onto them.

The operator reads a finished Job's exit code to decide what to show in the FiscalYearSync status (and whether
to retry), so these numbers are a contract (docs/architecture.md): 0 ok, 2 bad configuration, 3 consent needed
again, 4 Spiris unavailable, 5 storage unavailable, 6 completed but degraded, 1 anything unexpected. Each
expected failure is raised as a :class:`SyncFailure` carrying its code and one human sentence for stderr.
"""

from __future__ import annotations

import enum
from typing import Any


class ExitCode(enum.IntEnum):
    """Process exit codes of ``spiris-sync``."""

    OK = 0
    UNEXPECTED = 1
    BAD_CONFIGURATION = 2
    CONSENT_REQUIRED = 3
    SPIRIS_UNAVAILABLE = 4
    STORAGE_UNAVAILABLE = 5
    DEGRADED = 6
    RUN_IN_PROGRESS = 7


class SyncFailure(Exception):
    """An expected failure: the run stops with ``exit_code`` and ``message`` is shown to the human.

    The message must never contain tokens or credentials; it names what is wrong and what to do about it.
    """

    exit_code: ExitCode = ExitCode.UNEXPECTED
    outcome: str = "failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        # What the run had done when it failed (run id, API calls), for the JSON summary line.
        self.context: dict[str, Any] = {}


class ConfigurationError(SyncFailure):
    """A setting is missing or invalid (flag, environment variable, token file, unknown fiscal year)."""

    exit_code = ExitCode.BAD_CONFIGURATION


class ConsentRequired(SyncFailure):
    """Spiris refused our authorization: the client company must approve access again."""

    exit_code = ExitCode.CONSENT_REQUIRED


class SpirisUnavailable(SyncFailure):
    """Spiris could not be reached or kept failing after retries."""

    exit_code = ExitCode.SPIRIS_UNAVAILABLE


class StorageUnavailable(SyncFailure):
    """Postgres or the object store could not be reached or kept failing."""

    exit_code = ExitCode.STORAGE_UNAVAILABLE


class RunInProgress(SyncFailure):
    """Another live run of the same company and fiscal year holds the run lock: nothing was done."""

    exit_code = ExitCode.RUN_IN_PROGRESS
