"""Recurring complaints: each rule on real phrasing (with negation), per language; the measured quality floor."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from widgetserver import store, topics

CASES = [
    # (locale, text, expected topics)
    ("en", "Runs way too big. I ordered xs and had to return due to size.", ["size_fit"]),
    ("en", "It fit true to size and is not too big at all.", []),
    ("en", "The fabric looked very cheap and was already snagged when it arrived.", ["damaged", "quality"]),
    ("en", "It snags very easily, my puppy snagged it in several places.", ["quality"]),
    ("en", "This white shirt is see through and flimsy.", ["quality"]),
    ("en", "It is not itchy and not see through.", []),
    ("en", "Rather expensive for the poor quality.", ["quality", "price"]),
    ("en", "It took three weeks and the delivery was delayed twice.", ["delivery_time"]),
    ("en", "Still waiting for my refund after a month.", ["returns_refunds"]),
    ("en", "They sent me the wrong size and never replied to my email.", ["wrong_item", "communication"]),
    ("en", "Customer service was rude and nobody could help.", ["customer_service"]),
    ("en", "The box was crushed and poorly packed.", ["packaging"]),
    ("nl", "De jurk kwam beschadigd aan: een scheur in de zoom.", ["damaged"]),
    ("nl", "Niet beschadigd aangekomen, netjes verpakt.", []),
    ("nl", "Doos was open en het product zat er los in, gelukkig niet kapot.", ["packaging"]),
    ("nl", "De tas gaat na twee weken al kapot bij de hengsels.", ["quality"]),
    ("nl", "Mooie trui maar hij valt erg klein.", ["size_fit"]),
    ("nl", "Helemaal niet te klein, past precies.", []),
    ("nl", "Levering duurde erg lang, tien dagen gewacht.", ["delivery_time"]),
    ("nl", "Geen problemen met de levering, snel geleverd.", []),
    ("nl", "Ik wacht al vier weken op mijn terugbetaling.", ["returns_refunds"]),
    ("nl", "Geen enkel bericht gehad, geen track & trace.", ["communication"]),
    ("nl", "Klantenservice reageerde onvriendelijk.", ["customer_service"]),
    ("nl", "Veel te duur voor wat je krijgt.", ["price"]),
    ("nl", "Niet duur en toch goede kwaliteit.", []),
    ("nl", "Ik kreeg een blauwe jas in plaats van de zwarte.", ["wrong_item"]),
    ("nl", "Het kussen is kleiner dan aangegeven, 40 in plaats van 50 cm.", ["size_fit"]),
    ("nl", "Terugsturen kost €6,95, dat vind ik veel voor een retour.", ["returns_refunds", "price"]),
]


@pytest.mark.parametrize("locale, text, expected", CASES)
def test_rules_on_real_phrasing(locale, text, expected):
    assert topics.topics_of(text, locale) == expected


def test_languages_without_rules_find_nothing_rather_than_guess():
    assert topics.topics_of("Viel zu klein und kam beschädigt an.", "de") == []
    assert topics.topics_of("Runs small.", "en_GB") == ["size_fit"]
    assert topics.topics_of("", "en") == []


def test_labelled_set_is_large_enough_and_split():
    import csv

    rows = list(csv.DictReader((Path(__file__).parent / "data" / "topics_labelled.csv").open(encoding="utf-8")))
    assert len(rows) >= 200
    assert {r["split"] for r in rows} == {"dev", "test"}
    assert {r["locale"] for r in rows} == {"en", "nl"}
    labelled = {t for r in rows for t in r["topics"].split(",") if t}
    assert labelled <= set(topics.TOPICS)
    assert labelled == set(topics.TOPICS)  # every topic has examples


def test_held_out_quality_stays_above_the_measured_floor():
    """docs/benchmarks.md records micro F1 0.90 on the held-out half; a change that drops below 0.80 fails."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import topics_eval

    counts = topics_eval.evaluate(topics_eval.load("test"))["counts"]
    precision, recall, f1 = topics_eval.micro(counts)
    assert f1 >= 0.80 and precision >= 0.85 and recall >= 0.70, (precision, recall, f1)
    script = Path(topics_eval.__file__)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    assert "micro all:" in out


def test_counts_and_trend_per_month(db, shop):
    when = lambda m, d: datetime(2026, m, d, 12, tzinfo=timezone.utc)  # noqa: E731
    for created, body in [(when(10, 3), "Kwam beschadigd aan."), (when(11, 2), "De doos kwam kapot binnen."),
                          (when(11, 9), "Pakket kwam kapot aan en valt te klein."),
                          (when(11, 20), "Prima, snel geleverd.")]:
        store.add_review(db, shop["id"], rating=2, author="K", body=body, created_at=created, locale="nl")
    assert topics.trend(db, shop["id"], 2026, 11) == [
        {"topic": "damaged", "count": 2, "previous": 1},
        {"topic": "packaging", "count": 1, "previous": 0},  # "de doos kwam kapot binnen"
        {"topic": "size_fit", "count": 1, "previous": 0},
    ]
