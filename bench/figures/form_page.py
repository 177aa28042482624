"""Step 5: the fill page of the largest form — ``GET /submissions/<id>/page/<n>`` of a report on the
synthetic 180-field set (12 pages of 15 fields), measured **in-process with Flask's test client**: the
server's own time per request (routing, token auth, scope, cleaning the document, rendering), without
socket or load. The report holds a full draft, so every field renders a value.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select

from bench.accounts import Account, create_accounts, issue_tokens, principals
from bench.context import Bench
from bench.figures.collection import PERIOD, published_versions
from bench.figures.province import import_province
from bench.registry import latency_figures
from bench.synthetic import CODE, synthetic_definition, synthetic_document
from engine.collections import start_collection
from engine.db.models import Submission
from engine.forms.pages import pages
from engine.orgs import parent_of
from engine.publishing import publish_indicator_set
from engine.submissions import save_draft
from web.app import create_app
from web.settings import PROJECT_ROOT, Settings


@dataclass(frozen=True)
class FormPageTarget:
    submission_id: int
    token: str
    pages: int


def form_page_target(bench: Bench) -> FormPageTarget:
    """A collection of the synthetic set over one township; its first village's report holds a full draft."""

    def run() -> FormPageTarget:
        import_province(bench)  # alone under --only, nothing else has imported it
        _, proc_id = published_versions(bench)
        village = bench.villages[0].code
        username = f"bench_form_clerk_{village}"
        with bench.session() as s:
            ind_id = publish_indicator_set(s, synthetic_definition(), code=CODE, version=1).id
            collection = start_collection(
                s, title=f"{PERIOD}年基准测试合成表（180项）", indicator_set_version_id=ind_id,
                process_version_id=proc_id, period=PERIOD, scope_org_code=parent_of(village) or village,
                opens_on=dt.date(int(PERIOD) + 1, 1, 1), deadline=dt.date(int(PERIOD) + 1, 3, 31),
            ).collection
            sub_id = s.scalar(select(Submission.id).where(Submission.collection_id == collection.id,
                                                          Submission.org_code == village))
            ids = create_accounts(s, [Account(username, (("village_clerk", village),))])
            token = issue_tokens(s, ids.values())[ids[username]]
        with bench.session() as s:
            save_draft(s, principals(s, username)[username], sub_id, synthetic_document(f"{CODE}-{village}"),
                       revision=0)
        return FormPageTarget(sub_id, token, len(pages(bench.synthetic)))

    return bench.once("form_page_target", run)


def form_page_timings(bench: Bench) -> list[float]:
    """Milliseconds per GET, cycling through every page after one unmeasured round."""

    def run() -> list[float]:
        target = form_page_target(bench)
        instance = bench.workdir / "app-instance"
        instance.mkdir(exist_ok=True)
        settings = Settings(instance_path=instance, secret_key=secrets.token_hex(16), port=0, secure_cookies=False,
                            definitions_path=PROJECT_ROOT / "definitions")
        client = create_app(settings, bench.sessionmaker).test_client()
        headers = {"Authorization": f"Bearer {target.token}"}

        def get(number: int) -> None:
            resp = client.get(f"/submissions/{target.submission_id}/page/{number}", headers=headers)
            if resp.status_code != 200:
                raise RuntimeError(f"form page {number}: {resp.status_code} {resp.get_data(as_text=True)[:300]}")

        for number in range(1, target.pages + 1):  # warm-up: templates compiled, models cached
            get(number)
        samples = []
        for i in range(bench.samples.reads):
            start = time.perf_counter()
            get(i % target.pages + 1)
            samples.append((time.perf_counter() - start) * 1000)
        return samples

    return bench.once("form_page_timings", run)


latency_figures("form_page_180_ms", form_page_timings,
                "server time of a fill page of the 180-field set (Flask test client)", target="≤ 25 ms")
