"""The demo shop reads like a real one: replies after their reviews, no text cut mid-word, a useful URL list."""

from __future__ import annotations

import re
from datetime import timedelta

from click.testing import CliRunner

from widgetserver import demo, store
from widgetserver.cli import main


def test_whole_sentences():
    assert demo.whole_sentences("Great dress. Fits well!") == "Great dress. Fits well!"
    cut = "I loved this dress when I saw it in the shop window last week. However the fit was off and the s"
    assert demo.whole_sentences(cut) == "I loved this dress when I saw it in the shop window last week."
    assert demo.whole_sentences("Too short to keep. the rest was cut mid-wo") is None  # under MIN_KEPT
    assert demo.whole_sentences("no sentence end at all and cut mid-wo") is None
    assert demo.whole_sentences("Spaces   and\nnewlines.  ") == "Spaces and newlines."


def test_demo_replies_follow_their_reviews_and_texts_end_at_a_sentence(tmp_path):
    db = store.connect(str(tmp_path / "demo.db"))
    store.migrate(db)
    before = store.utcnow()
    demo.build_demo(db)
    rows = list(db.query(
        "SELECT r.body, r.created_at AS reviewed, rp.created_at AS replied, rp.updated_at AS reply_updated "
        "FROM reviews r LEFT JOIN replies rp ON rp.review_id = r.id"))
    assert len(rows) >= 300
    replies = [r for r in rows if r["replied"]]
    assert len(replies) >= 20
    delays = []
    for row in replies:
        reviewed, replied = store.parse_time(row["reviewed"]), store.parse_time(row["replied"])
        assert row["reply_updated"] == row["replied"]
        assert timedelta(hours=1) <= replied - reviewed <= timedelta(days=2), row
        assert replied <= before + timedelta(minutes=5)
        delays.append(replied - reviewed)
    # Not one fixed delay: spread over hours and days.
    assert min(delays) < timedelta(hours=12) < max(delays)
    for row in rows:
        assert re.search(r"[.!?)]$", row["body"]), row["body"][-60:]


def test_demo_prints_the_landing_page_and_hosted_page_first(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--db", str(tmp_path / "d.db"), "--port", "8123"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    urls = [line.split()[0] for line in lines[lines.index("Open:") + 1:] if line.startswith("  http")]
    assert urls[:2] == ["http://127.0.0.1:8123/", "http://127.0.0.1:8123/s/demo"]
    assert any("/s/demo/p/" in url for url in urls) and "http://127.0.0.1:8123/api/v1/openapi.json" in urls
