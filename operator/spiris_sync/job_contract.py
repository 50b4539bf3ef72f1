"""The contract between the operator and its sync Jobs, defined once: the worker's exit codes, the outcome
each means in status, and the words of SpirisConnection and FiscalYearSync status (phases, condition types,
reasons).

The worker exits with an :class:`ExitCode`; the operator reads it from the finished Job and shows the
:class:`JobOutcome`; both write status with these :class:`Phase`, :class:`ConditionType` and
:class:`Reason` values. It lives in ``spiris_sync`` (the lowest layer both may import) and imports nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

__all__ = [
    "FINAL_EXIT_CODES",
    "NOT_RETRIED_OUTCOMES",
    "OUTCOME_OF_EXIT_CODE",
    "SUCCESSFUL_OUTCOMES",
    "ConditionType",
    "ExitCode",
    "JobOutcome",
    "Phase",
    "Reason",
]


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
    #: The documents pass used up its time slice and stopped cleanly; the next run continues where it stopped.
    YIELDED = 8


class JobOutcome(enum.StrEnum):
    """What a finished sync Job means, as status shows it (``lastJobOutcome``, the Synced reason)."""

    SUCCEEDED = "Succeeded"
    UNEXPECTED = "Unexpected"
    BAD_CONFIGURATION = "BadConfiguration"
    CONSENT_REQUIRED = "ConsentRequired"
    SPIRIS_UNAVAILABLE = "SpirisUnavailable"
    STORAGE_UNAVAILABLE = "StorageUnavailable"
    DEGRADED = "Degraded"
    RUN_IN_PROGRESS = "RunInProgress"
    #: The run stopped at its time slice with everything so far stored (not a failure: run it again).
    YIELDED = "Yielded"
    #: The Job ran past ``activeDeadlineSeconds``.
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    #: The Job failed without an exit code we know (or vanished).
    FAILED = "Failed"


OUTCOME_OF_EXIT_CODE: Mapping[int, JobOutcome] = {
    ExitCode.OK: JobOutcome.SUCCEEDED,
    ExitCode.UNEXPECTED: JobOutcome.UNEXPECTED,
    ExitCode.BAD_CONFIGURATION: JobOutcome.BAD_CONFIGURATION,
    ExitCode.CONSENT_REQUIRED: JobOutcome.CONSENT_REQUIRED,
    ExitCode.SPIRIS_UNAVAILABLE: JobOutcome.SPIRIS_UNAVAILABLE,
    ExitCode.STORAGE_UNAVAILABLE: JobOutcome.STORAGE_UNAVAILABLE,
    ExitCode.DEGRADED: JobOutcome.DEGRADED,
    ExitCode.RUN_IN_PROGRESS: JobOutcome.RUN_IN_PROGRESS,
    ExitCode.YIELDED: JobOutcome.YIELDED,
}
#: Exit codes no retry can fix: the Job's podFailurePolicy fails it at once.
FINAL_EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode.BAD_CONFIGURATION,
    ExitCode.CONSENT_REQUIRED,
    ExitCode.DEGRADED,
)
SUCCESSFUL_OUTCOMES = frozenset({JobOutcome.SUCCEEDED, JobOutcome.DEGRADED})
#: Outcomes the operator does not retry on its own (a person fixes the cause, then asks for a sync).
NOT_RETRIED_OUTCOMES = frozenset({JobOutcome.CONSENT_REQUIRED, JobOutcome.BAD_CONFIGURATION})


class Phase(enum.StrEnum):
    """``status.phase`` of a FiscalYearSync (Pending … Failed) and of a SpirisConnection (… Suspended)."""

    PENDING = "Pending"
    QUEUED = "Queued"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    DEGRADED = "Degraded"
    FAILED = "Failed"
    PENDING_CONSENT = "PendingConsent"
    CONNECTED = "Connected"
    RECONSENT_REQUIRED = "ReconsentRequired"
    SUSPENDED = "Suspended"


class ConditionType(enum.StrEnum):
    """``status.conditions[].type``."""

    READY = "Ready"
    SYNCED = "Synced"
    RECONCILED = "Reconciled"
    AUTHORIZED = "Authorized"
    TOKEN_HEALTHY = "TokenHealthy"


class Reason(enum.StrEnum):
    """Condition reasons that code acts on or that more than one place writes (a finished Job's reason is
    its :class:`JobOutcome`)."""

    FISCAL_YEAR_RESOLVED = "FiscalYearResolved"
    FISCAL_YEAR_NOT_FOUND = "FiscalYearNotFound"
    CONNECTION_NOT_FOUND = "ConnectionNotFound"
    CONNECTION_NOT_READY = "ConnectionNotReady"
    INVALID_SCHEDULE = "InvalidSchedule"
    RUNNING = "Running"
    BALANCED = "Balanced"
    DIFFERENCES = "Differences"
    REFRESH_FAILED = "RefreshFailed"
    JOB_CREATED = "JobCreated"
    JOB_ADOPTED = "JobAdopted"
