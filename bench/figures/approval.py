"""Step 3 of the cycle: every township reviewer bulk-approves the reviews in their inbox
(engine.tasks.inbox_query + bulk_approve, one transaction per reviewer), then every county reviewer
does the same. ``--quick`` approves the reports of the first few townships only (Samples.review_townships). Roll-ups are kept current inside those transactions (engine.rollups' approval
listener); the cycle's last step reads the province's figures to confirm they include every village.
"""

from __future__ import annotations

import time

from bench.accounts import Account, create_accounts, principals
from bench.context import Bench
from bench.figures.collection import started_collection
from bench.figures.http_submit import http_submitted
from bench.figures.submission import bulk_submitted
from bench.registry import figure
from engine.db.models import Collection
from engine.orgs import ancestor_at, level_of
from engine.roles import Level
from engine.rollups import rollup_report  # importing engine.rollups registers its approval listener
from engine.tasks import InboxFilter, bulk_approve, inbox_query

REVIEWER_ROLES = {Level.TOWNSHIP: "township_reviewer", Level.COUNTY: "county_reviewer"}


def all_submitted(bench: Bench) -> None:
    """Both submission paths have run: every village's report waits for its township."""
    bulk_submitted(bench)
    http_submitted(bench)


def reviewed_townships(bench: Bench) -> list[str]:
    """The townships whose reports are approved: all of them, or with ``--quick`` the first few."""
    townships = [u.code for u in bench.units if level_of(u.code) == Level.TOWNSHIP]
    n = bench.samples.review_townships
    return townships if n is None else townships[:n]


def reviewed_villages(bench: Bench) -> int:
    """How many reports the approvals cover (every village, or those of the sampled townships)."""
    townships = set(reviewed_townships(bench))
    return sum(1 for v in bench.villages if ancestor_at(v.code, Level.TOWNSHIP) in townships)


def _reviewers(bench: Bench, level: Level) -> str:
    """One reviewer per unit of ``level`` above the reviewed townships (setup); returns their username prefix."""
    prefix = f"bench_{level.name.lower()}_reviewer_"
    units = sorted({ancestor_at(t, level) for t in reviewed_townships(bench)})
    with bench.session() as s:
        create_accounts(s, [Account(prefix + code, ((REVIEWER_ROLES[level], code),)) for code in units])
    return prefix


def approve_level(bench: Bench, level: Level) -> float:
    """Seconds for every reviewer of ``level`` to list their review inbox and approve all of it."""
    cid = started_collection(bench).collection_id
    with bench.session() as s:
        reviewers = principals(s, _reviewers(bench, level))
    approved = 0
    start = time.perf_counter()
    for principal in reviewers.values():
        with bench.session() as s:
            ids = [row[0].id for row in s.execute(inbox_query(principal, InboxFilter(collection_id=cid, kind="review")))]
            results = bulk_approve(s, principal, ids)
        failed = [r for r in results if not r.ok]
        if failed:
            raise RuntimeError(f"{principal.username}: {len(failed)} of {len(ids)} approvals failed, e.g. {failed[0]}")
        approved += len(ids)
    seconds = time.perf_counter() - start
    if approved != reviewed_villages(bench):
        raise RuntimeError(f"{level.name.lower()} reviewers approved {approved} reports of {reviewed_villages(bench)}")
    return seconds


def township_approved(bench: Bench) -> float:
    def run() -> float:
        all_submitted(bench)
        bench.settle("township")
        return approve_level(bench, Level.TOWNSHIP)

    return bench.once("township_approved", run)


def county_approved(bench: Bench) -> float:
    def run() -> float:
        township_approved(bench)
        bench.settle("county")
        return approve_level(bench, Level.COUNTY)

    return bench.once("county_approved", run)


def rollup_current(bench: Bench) -> float:
    """Seconds to read the province's final figures, checking that they include every village."""

    def run() -> float:
        county_approved(bench)
        start = time.perf_counter()
        with bench.session() as s:
            collection = s.get(Collection, started_collection(bench).collection_id)
            report = rollup_report(s, collection, bench.units[0].code, stage="final", with_breakdown=False)
        seconds = time.perf_counter() - start
        if report.unit.units_included != reviewed_villages(bench):
            raise RuntimeError(f"the province roll-up includes {report.unit.units_included} of "
                               f"{reviewed_villages(bench)} approved reports")
        return seconds

    return bench.once("rollup_current", run)


@figure("township_approve_s", unit="s")
def township_approve_s(bench: Bench) -> float:
    """Every township reviewer lists and bulk-approves their township's reports (one transaction each)."""
    return township_approved(bench)


@figure("county_approve_s", unit="s")
def county_approve_s(bench: Bench) -> float:
    """Every county reviewer then does the same for their county (the flow finishes)."""
    return county_approved(bench)
