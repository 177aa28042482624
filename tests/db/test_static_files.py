"""Static files are linked with their content's hash and, asked for with it, cached for a year: a page
move on a weak connection no longer revalidates every stylesheet and script."""

from __future__ import annotations

import hashlib
import re

from tests.conftest import ROOT, login

STATIC = ROOT / "admin_ui" / "static"


def version_of(name: str) -> str:
    return hashlib.blake2b((STATIC / name).read_bytes(), digest_size=8).hexdigest()


def test_static_urls_carry_the_content_hash_and_are_cached_when_they_do(client, collection, db):
    from sqlalchemy import select

    from engine.db.models import Submission

    sub_id = db.scalar(select(Submission.id).where(Submission.collection_id == collection.id,
                                                   Submission.org_code == "390121101201"))
    login(client, "clerk_xikou")
    page = client.get("/submissions").get_data(as_text=True)
    for name in ("app.css", "forms.js"):
        assert f'/static/{name}?v={version_of(name)}"' in page
    fill = client.get(f"/submissions/{sub_id}/page/1").get_data(as_text=True)
    assert f'/static/forms.css?v={version_of("forms.css")}"' in fill

    resp = client.get(f"/static/app.css?v={version_of('app.css')}")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # without the hash, or with another file's: as before, revalidated every time
    for url in ("/static/app.css", "/static/app.css?v=0123456789abcdef"):
        resp = client.get(url)
        assert resp.status_code == 200 and "max-age=31536000" not in resp.headers.get("Cache-Control", ""), url
        assert re.search(r"no-cache", resp.headers.get("Cache-Control", "")), url
