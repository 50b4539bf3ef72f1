"""The soak test (`make soak`): three companies sync while operator, web, sync pods, Postgres and S3 die.

It starts the whole local stack (Postgres with commits that survive a SIGKILL), connects three sandbox
companies through the real consent pages (``consent_http``) and then, for a bounded window, runs a seeded,
printed timeline: kills at random points — the operator and the web SIGKILLed and started again on the same
ports, a running sync pod SIGKILLed or deleted (the real Job controller retries), Postgres and S3 SIGKILLed
and restarted in place on their data — with sync requests and sandbox changes (new and edited vouchers)
between them so there is always work to interrupt. After the window it asks every FiscalYearSync for one
more run, waits for all to succeed and checks each company (``soak_checks``). The last line is
`soak: companies N, equal N, ready N, duplicates D, kills K`; the exit code is 0 only when every company is
equal and Ready and nothing is duplicated.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from spiris_localstack.consent_http import give_consent_http
from spiris_localstack.kube_binary import kubeplane_binary
from spiris_localstack.postgres import PostgresServer
from spiris_localstack.s3 import S3Server
from spiris_localstack.soak_checks import CompanyCheck, check_company
from spiris_localstack.stack import LocalStack, StackOptions

__all__ = ["TARGETS", "Event", "SoakOptions", "SoakResult", "main", "plan_events", "run_soak"]

TARGETS = ("operator", "web", "job", "postgres", "s3")
SYNC_REQUEST = "spiris.senseworks.io/sync-requested-at"
NAMESPACE = "soak"


@dataclass(frozen=True)
class SoakOptions:
    duration: float = 360.0
    #: Kills in the window (0: one per ~20 s, at least one of each target).
    kills: int = 0
    seed: int | None = None
    companies: int = 3
    vouchers_per_year: int = 300
    settle_timeout: float = 600.0
    work_dir: Path | None = None
    crd_dir: Path = Path("crds")
    chart_dir: Path = Path("charts/spiris-operator")
    kubeplane: Path | None = None


@dataclass(frozen=True)
class Event:
    """One step of the timeline: `at` seconds into the window; `kind` is a target, `sync` or `change`."""

    at: float
    kind: str
    down: float = 0.0


@dataclass
class SoakResult:
    seed: int
    kills: int = 0
    checks: list[CompanyCheck] = field(default_factory=list)
    companies: int = 0

    @property
    def equal(self) -> int:
        return sum(c.equal for c in self.checks)

    @property
    def ready(self) -> int:
        return sum(c.ready for c in self.checks)

    @property
    def duplicates(self) -> int:
        return sum(c.duplicates for c in self.checks)

    @property
    def ok(self) -> bool:
        return self.equal == self.ready == self.companies and self.duplicates == 0 and self.companies > 0

    def last_line(self) -> str:
        return (f"soak: companies {self.companies}, equal {self.equal}, ready {self.ready}, "
                f"duplicates {self.duplicates}, kills {self.kills}")


def plan_events(rng: random.Random, *, duration: float, kills: int) -> list[Event]:
    """The seeded timeline: `kills` kills (each target at least once when there are five or more), a sync
    request every ~15 s and a sandbox change every ~40 s, at random points of the window."""
    count = kills or max(len(TARGETS), int(duration // 20))
    targets = list(TARGETS)
    rng.shuffle(targets)
    targets = (targets + [rng.choice(TARGETS) for _ in range(count)])[:count]
    events = [Event(round(rng.uniform(0.05, 0.9) * duration, 1), target, round(rng.uniform(0.5, 4.0), 1))
              for target in targets]
    events += [Event(round(rng.uniform(0, 0.9) * duration, 1), "sync") for _ in range(int(duration // 15))]
    events += [Event(round(rng.uniform(0, 0.8) * duration, 1), "change") for _ in range(int(duration // 40))]
    return sorted(events, key=lambda e: e.at)


@dataclass
class _Company:
    number: int
    name: str
    uid: str = ""


class _Soak:
    def __init__(self, stack: LocalStack, rng: random.Random, say: Callable[[str], None]) -> None:
        self.stack, self.rng, self.say = stack, rng, say
        self.companies: list[_Company] = []
        self.kills = 0
        self.killed: Counter[str] = Counter()
        self.t0 = time.monotonic()

    # --- connecting

    def connect(self, count: int) -> None:
        stack = self.stack
        user = stack.sandbox_json("/_sandbox/users")[0]
        for number in range(1, count + 1):
            company = _Company(number, f"soak-company-{number}")
            stack.apply_connection(company_number=number, name=company.name)
            self.companies.append(company)
        for company in self.companies:
            url = stack.wait_for(partial(self._consent_url, company), timeout=120,
                                 what=f"the consent link of {company.name}")
            heading = give_consent_http(str(url), email=user["email"], password=user["password"],
                                        company=company.number)
            self.say(f"soak: {company.name} consented (company {company.number}): {heading}")
        for company in self.companies:
            ready = stack.wait_for(partial(self._ready, company), timeout=120, what=f"{company.name} Ready")
            company.uid = str(ready["metadata"]["uid"])
        stack.wait_for(lambda: len(self.syncs()) >= 2 * count, timeout=120,
                       what="two FiscalYearSyncs per company")

    def _connection(self, company: _Company) -> dict[str, Any] | None:
        return self.stack.get_object("spirisconnections", company.name)

    def _consent_url(self, company: _Company) -> str | None:
        url = ((self._connection(company) or {}).get("status") or {}).get("consentUrl")
        return str(url) if url else None

    def _ready(self, company: _Company) -> dict[str, Any] | None:
        found = self._connection(company)
        conditions = {c.get("type"): c.get("status") for c in ((found or {}).get("status") or {}).get(
            "conditions") or []}
        return found if conditions.get("Ready") == "True" else None

    def syncs(self) -> list[dict[str, Any]]:
        names = {c.name for c in self.companies}
        return [item for item in self.stack.list_objects("fiscalyearsyncs")
                if ((item.get("spec") or {}).get("connectionRef") or {}).get("name") in names]

    # --- the window

    def log(self, message: str) -> None:
        self.say(f"  [{time.monotonic() - self.t0:6.1f}s] {message}")

    def window(self, events: Sequence[Event], duration: float) -> None:
        self.t0 = time.monotonic()
        for event in events:
            delay = self.t0 + event.at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if event.kind == "sync":
                self.request_sync(self._any_sync())
            elif event.kind == "change":
                self.change()
            else:
                self.kill(event)
        time.sleep(max(0.0, self.t0 + duration - time.monotonic()))

    def _any_sync(self) -> dict[str, Any] | None:
        syncs = self.syncs()
        return self.rng.choice(syncs) if syncs else None

    def request_sync(self, fys: dict[str, Any] | None, *, value: str | None = None) -> str:
        """Ask for a run of `fys` now: in the window a full or an incremental one at random, the final one
        (`value` given) incremental, so what heals the copy at the end is the incremental path."""
        stamp = value or datetime.now(UTC).isoformat(timespec="milliseconds")
        if fys is None:
            return stamp
        name = fys["metadata"]["name"]
        mode = "Incremental" if value is not None or self.rng.random() < 0.5 else "Full"
        assert self.stack.kube is not None
        self.stack.kube.rest.merge_patch(
            f"/apis/spiris.senseworks.io/v1alpha1/namespaces/{NAMESPACE}/fiscalyearsyncs/{name}",
            {"metadata": {"annotations": {SYNC_REQUEST: stamp}}, "spec": {"mode": mode}})
        if value is None:
            self.log(f"sync requested: {name} ({mode.lower()})")
        return stamp

    def change(self) -> None:
        company = self.rng.choice(self.companies)
        open_years = [(s.get("status") or {}).get("fiscalYearId") for s in self.syncs()
                      if (s.get("spec") or {}).get("connectionRef", {}).get("name") == company.name
                      and not ((s.get("status") or {}).get("period") or {}).get("locked")]
        year = next((y for y in open_years if y), None)
        if year is None:
            return
        base = f"/_sandbox/companies/{company.number}/vouchers"
        added = self.stack.sandbox_post(f"{base}/add", {"count": 2, "fiscal_year_id": year,
                                                        "with_attachments": True})["added"]
        changed = self.stack.sandbox_post(f"{base}/change", {"count": 2, "fiscal_year_id": year})["changed"]
        self.log(f"sandbox change: company {company.number} +{len(added)} vouchers, {len(changed)} edited")

    def kill(self, event: Event) -> None:
        stack = self.stack
        assert stack.postgres is not None and stack.s3 is not None
        target = event.kind
        if target in ("operator", "web"):
            pid = stack.kill_process(target)
            time.sleep(event.down)
            new = stack.restart_process(target)
            if target == "web":
                self._web_serves()
            self.log(f"kill {target} (SIGKILL pid {pid}), down {event.down} s, back as pid {new}")
        elif target in ("postgres", "s3"):
            server: PostgresServer | S3Server = stack.postgres if target == "postgres" else stack.s3
            running = self._running_syncs()
            pid = server.pid or 0
            server.kill()
            time.sleep(event.down)
            server.restart()
            self.log(f"kill {target} (SIGKILL pid {pid}) while {running} sync pods ran, down {event.down} s, "
                     f"restarted in place as pid {server.pid}")
        elif not self._kill_pod():
            self.log("kill job: no sync pod ran within 60 s, skipped")
            return
        self.kills += 1
        self.killed[target] += 1

    def _running_syncs(self, wait: float = 30.0) -> int:
        """The number of sync pods running, waiting up to `wait` s (and asking for a run) when none is, so a
        store dies under a sync rather than between syncs."""
        stack = self.stack
        assert stack.kube is not None and stack.kube.node is not None
        deadline = time.monotonic() + wait
        asked = False
        while not stack.kube.node.running_pids() and time.monotonic() < deadline:
            if not asked:
                self.request_sync(self._any_sync())
                asked = True
            time.sleep(0.5)
        return len(stack.kube.node.running_pids())

    def _kill_pod(self) -> bool:
        stack = self.stack
        assert stack.kube is not None and stack.kube.node is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.rng.random() < 0.5:
                pids = stack.kube.node.running_pids()
                if pids:
                    pid = self.rng.choice(pids)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                        self.log(f"kill job: SIGKILL sync pod process {pid}")
                        return True
            else:
                pods = [p for p in stack.list_objects("pods", group="", version="v1")
                        if (p.get("status") or {}).get("phase") == "Running"]
                if pods:
                    name = self.rng.choice(pods)["metadata"]["name"]
                    assert stack.kube is not None
                    stack.kube.rest.call("DELETE", f"/api/v1/namespaces/{NAMESPACE}/pods/{name}",
                                         allow=(404,))
                    self.log(f"kill job: deleted sync pod {name}")
                    return True
            time.sleep(1.0)
            if time.monotonic() > deadline - 50 and not stack.kube.node.running_pids():
                self.request_sync(self._any_sync())
        return False

    def _web_serves(self) -> None:
        for path in ("/healthz", "/readyz"):
            response = httpx.get(f"{self.stack.web_url}{path}", timeout=10)
            if response.status_code != 200:
                raise RuntimeError(f"the restarted web answers {path} with {response.status_code}")

    # --- settling and checking

    def settle(self, timeout: float) -> bool:
        """One more run of every FiscalYearSync after the window; True once all succeeded."""
        value = f"soak-final-{datetime.now(UTC).isoformat(timespec='seconds')}"
        for fys in self.syncs():
            self.request_sync(fys, value=value)
        by_target = ", ".join(f"{target} {self.killed[target]}" for target in TARGETS)
        self.log(f"window over ({self.kills} kills: {by_target}); "
                 f"final sync requested for {len(self.syncs())} years")

        def settled() -> bool:
            items = self.syncs()
            done = [s for s in items if (s.get("status") or {}).get("lastHandledSyncRequest") == value
                    and (s.get("status") or {}).get("phase") == "Succeeded"]
            return bool(items) and len(done) == len(items)

        try:
            self.stack.wait_for(settled, timeout=timeout, what="every fiscal year to sync", interval=2)
        except TimeoutError as exc:
            self.log(str(exc))
            return False
        self.log("every fiscal year synced after the window")
        return True

    def check(self, bucket: str) -> list[CompanyCheck]:
        stack = self.stack
        assert stack.postgres is not None and stack.s3 is not None
        checks = []
        for company in self.companies:
            years = [str((s.get("status") or {}).get("fiscalYearId")) for s in self.syncs()
                     if (s.get("spec") or {}).get("connectionRef", {}).get("name") == company.name
                     and (s.get("status") or {}).get("fiscalYearId")]
            truth = {y: stack.sandbox_json(f"/_sandbox/truth/{company.number}/{y}") for y in years}
            check = check_company(
                CompanyCheck(company.number, company.name, company.uid), dsn=stack.postgres.dsn,
                client=stack.s3.client(), bucket=bucket, connection=self._connection(company),
                fiscal_year_ids=years, truth=truth)
            verdict = "equal" if check.equal else "DIFFERENT"
            self.say(f"soak: {company.name}: {verdict}, {'Ready' if check.ready else 'NOT Ready'}, "
                     f"duplicates {check.duplicates}")
            for problem in check.problems[:10]:
                self.say(f"    {problem}")
            checks.append(check)
        return checks


def run_soak(options: SoakOptions, *, say: Callable[[str], None]) -> SoakResult:
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1, 10**6)
    rng = random.Random(seed)
    events = plan_events(rng, duration=options.duration, kills=options.kills)
    kills = [e for e in events if e.kind in TARGETS]
    say(f"soak: seed {seed}, window {options.duration:.0f} s, {options.companies} companies, "
        f"{len(kills)} kills planned (rerun with --seed {seed}):")
    say("  " + ", ".join(f"{e.at:.0f}s {e.kind}" for e in kills))
    result = SoakResult(seed=seed, companies=options.companies)
    stack = LocalStack(options=StackOptions(
        namespace=NAMESPACE, vouchers_per_year=options.vouchers_per_year, schedule="6h",
        reconcile_interval=1.0, schedule_jitter=0.0, max_concurrent_jobs=3, latest_fiscal_years=2,
        postgres_durable_commits=True, work_dir=options.work_dir, crd_dir=options.crd_dir,
        chart_dir=options.chart_dir, kubeplane=options.kubeplane, connection_name="soak-company-1",
    ), announce=lambda m: say(f"soak: {m}"))
    started = time.monotonic()
    with stack:
        say(f"soak: logs in {stack.work_dir}")
        soak = _Soak(stack, rng, say)
        try:
            soak.connect(options.companies)
            say(f"soak: {options.companies} companies Ready; the window opens")
            soak.window(events, options.duration)
            soak.settle(options.settle_timeout)
            result.checks = soak.check(stack.options.bucket)
        except Exception:
            # The stack is stopped all the same; the verdict (no checks) fails the soak.
            traceback.print_exc()
        finally:
            result.kills = soak.kills
    say(f"soak: took {time.monotonic() - started:.0f} s")
    return result


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (a CI cancel) unwinds like Ctrl-C, so the stack still stops everything it started.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spiris_localstack.soak", description=__doc__)
    parser.add_argument("--duration", type=float, default=360.0, help="the kill window in seconds")
    parser.add_argument("--kills", type=int, default=0, help="kills in the window (default: one per ~20 s)")
    parser.add_argument("--seed", type=int, default=None, help="the seed (default random, printed)")
    parser.add_argument("--companies", type=int, default=3)
    parser.add_argument("--vouchers", type=int, default=300, help="vouchers per fiscal year per company")
    parser.add_argument("--settle-timeout", type=float, default=600.0)
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--crds", default="crds")
    parser.add_argument("--chart", default="charts/spiris-operator")
    parser.add_argument("--kubeplane", default=None)
    parser.add_argument("--kubeplane-src", default=None)
    args = parser.parse_args(argv)
    options = SoakOptions(
        duration=args.duration, kills=args.kills, seed=args.seed, companies=args.companies,
        vouchers_per_year=args.vouchers, settle_timeout=args.settle_timeout,
        work_dir=Path(args.work_dir) if args.work_dir else None, crd_dir=Path(args.crds),
        chart_dir=Path(args.chart),
        kubeplane=kubeplane_binary(binary=args.kubeplane, source_dir=args.kubeplane_src),
    )
    signal.signal(signal.SIGTERM, _interrupt)
    result = run_soak(options, say=lambda m: print(m, flush=True))
    print(result.last_line(), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
