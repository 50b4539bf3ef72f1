"""The worker's expected failures, each carrying its exit code and one human sentence for stderr.

The codes themselves (0 ok, 1 unexpected, 2 bad configuration, 3 consent needed again, 4 Spiris unavailable,
5 storage unavailable, 6 degraded, 7 run in progress, 8 yielded at the time slice) are
:class:`spiris_sync.job_contract.ExitCode`, the one definition the operator reads too. Names end in
``Failure`` where the client or the store has an error of the same subject
(``spiris_client.errors.ConsentRequired`` → :class:`ConsentRequiredFailure`).
"""

from __future__ import annotations

from typing import Any

from spiris_sync.job_contract import ExitCode

__all__ = [
    "ConfigurationError",
    "ConsentRequiredFailure",
    "ExitCode",
    "RunInProgress",
    "SpirisUnavailableFailure",
    "StorageUnavailableFailure",
    "SyncFailure",
]


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


class ConsentRequiredFailure(SyncFailure):
    """Spiris refused our authorization: the client company must approve access again."""

    exit_code = ExitCode.CONSENT_REQUIRED


class SpirisUnavailableFailure(SyncFailure):
    """Spiris could not be reached or kept failing after retries."""

    exit_code = ExitCode.SPIRIS_UNAVAILABLE


class StorageUnavailableFailure(SyncFailure):
    """Postgres or the object store could not be reached or kept failing."""

    exit_code = ExitCode.STORAGE_UNAVAILABLE


class RunInProgress(SyncFailure):
    """Another live run of the same company and fiscal year holds the run lock: nothing was done."""

    exit_code = ExitCode.RUN_IN_PROGRESS
