"""The tone check: every rule on real phrasing, passing and failing, in Dutch and English (and German, French).

Examples are the kind of sentence shops really write under reviews (several from the demo shop's
replies); each rule is checked on its own finding, so a rule that never fires, or always fires, fails.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from widgetserver import tone

SIGN = {"author": "Sanne de Vries", "role": "Klantenservice"}


def finding(text: str, rule: str, **kwargs) -> dict:
    result = tone.check(text, **{"rating": 1, **SIGN, **kwargs})
    matches = [f for f in result["findings"] if f["rule"] == rule]
    assert len(matches) == 1, f"rule {rule} missing from {result}"
    return matches[0]


CASES = [
    # rule, language, text, passes
    ("thanks", "en", "Thank you for taking the time to tell us about the dress.", True),
    ("thanks", "en", "Thanks for letting us know, Emily.", True),
    ("thanks", "en", "We really appreciate your honest feedback.", True),
    ("thanks", "en", "We have looked into your order and it was shipped on time.", False),
    ("thanks", "nl", "Bedankt voor je review, Fleur.", True),
    ("thanks", "nl", "Dank voor de melding, Fleur.", True),
    ("thanks", "nl", "Hartelijk dank dat u de tijd nam om dit te schrijven.", True),
    ("thanks", "nl", "Wat vervelend, Ingrid. Dit hoort niet te gebeuren.", False),
    ("thanks", "de", "Vielen Dank für Ihre ehrliche Bewertung.", True),
    ("thanks", "de", "Wir haben Ihre Bestellung geprüft.", False),
    ("thanks", "fr", "Merci d'avoir pris le temps de nous écrire.", True),
    ("thanks", "fr", "Nous avons vérifié votre commande.", False),

    ("acknowledge", "en", "We understand how frustrating it is when a dress shrinks after one wash.", True),
    ("acknowledge", "en", "You're right: three weeks for a refund is far too long.", True),
    ("acknowledge", "en", "That is not what you expected from us, and it let you down.", True),
    ("acknowledge", "en", "Thank you for your message. Kind regards.", False),
    ("acknowledge", "nl", "Wat vervelend, Ingrid. Dit hoort niet te gebeuren.", True),
    ("acknowledge", "nl", "U heeft gelijk, Patrick: drie weken is te lang.", True),
    ("acknowledge", "nl", "We begrijpen goed dat je teleurgesteld bent.", True),
    ("acknowledge", "nl", "Bedankt voor uw bericht. Met vriendelijke groet.", False),
    ("acknowledge", "de", "Wir verstehen, wie ärgerlich das ist.", True),
    ("acknowledge", "de", "Vielen Dank für Ihre Nachricht.", False),
    ("acknowledge", "fr", "Nous comprenons votre déception.", True),
    ("acknowledge", "fr", "Merci pour votre message.", False),

    ("apology", "en", "We are sorry the seam came loose after a week.", True),
    ("apology", "en", "Please accept our apologies for the wrong size.", True),
    ("apology", "en", "That was our mistake, and we have fixed it.", True),
    ("apology", "en", "We're sorry if you feel the colour was different.", False),
    ("apology", "en", "Our returns are handled within 14 days.", False),
    ("apology", "nl", "Sorry Esther, dat is een productiefout.", True),
    ("apology", "nl", "Excuses, Bianca. Er ging iets mis in ons magazijn.", True),
    ("apology", "nl", "Het spijt ons dat de jurk is gekrompen.", True),
    ("apology", "nl", "Sorry als u dat zo voelt, maar de kleur klopt.", False),
    ("apology", "nl", "Het spijt ons dat u dat vindt.", False),
    ("apology", "nl", "Retourzendingen zijn voortaan gratis.", False),
    ("apology", "de", "Es tut uns sehr leid, dass die Naht gerissen ist.", True),
    ("apology", "de", "Wir haben die Lieferung geprüft.", False),
    ("apology", "fr", "Nous sommes désolés pour ce retard de livraison.", True),
    ("apology", "fr", "Désolés si vous pensez que la couleur est différente.", False),

    ("offline", "en", "Could you e-mail us at service@shop.example with your order number?", True),
    ("offline", "en", "Please call us on +31 20 123 4567 so we can sort this out.", True),
    ("offline", "en", "Our customer service has e-mailed you about a free return. We will contact you today.", True),
    ("offline", "en", "We hope you enjoy your next order.", False),
    ("offline", "nl", "Wilt u ons mailen op service@shop.example?", True),
    ("offline", "nl", "We hebben contact met u opgenomen voor een nieuwe jurk.", True),
    ("offline", "nl", "Bel ons gerust op 020-1234567.", True),
    ("offline", "nl", "We hebben de productfoto's opnieuw laten maken.", False),
    ("offline", "de", "Schreiben Sie uns an hilfe@shop.example.", True),
    ("offline", "de", "Wir haben die Fotos neu gemacht.", False),
    ("offline", "fr", "Contactez-nous au 01 23 45 67 89.", True),
    ("offline", "fr", "Nous avons refait les photos.", False),

    ("defensive", "en", "We are sorry, and we have changed our supplier.", True),
    ("defensive", "en", "You should have read the size chart before ordering.", False),
    ("defensive", "en", "As clearly stated on the product page, this dress runs small.", False),
    ("defensive", "en", "This is not our fault: the courier lost it.", False),
    ("defensive", "en", "Nobody else has complained about this jumper.", False),
    ("defensive", "en", "We are sorry, but THIS IS SIMPLY NOT TRUE.", False),
    ("defensive", "en", "You must have been disappointed; we are sorry.", True),
    ("defensive", "nl", "Sorry Gerda. We hebben sinds kort extra mensen aan de telefoon.", True),
    ("defensive", "nl", "Had u maar de wasvoorschriften gelezen.", False),
    ("defensive", "nl", "Dat is niet onze schuld, de bezorger was te laat.", False),
    ("defensive", "nl", "Zoals duidelijk vermeld op de site valt deze jurk klein.", False),
    ("defensive", "nl", "Andere klanten zijn wel tevreden over deze trui.", False),
    ("defensive", "nl", "Dat klopt niet, wij hebben het pakket op tijd verstuurd!!", False),
    ("defensive", "de", "Das ist nicht unsere Schuld.", False),
    ("defensive", "de", "Es tut uns leid, wir schicken Ersatz.", True),
    ("defensive", "fr", "Vous auriez dû lire le guide des tailles.", False),
    ("defensive", "fr", "Nous sommes désolés et envoyons un remplacement.", True),

    ("removal", "en", "We have sent a replacement today.", True),
    ("removal", "en", "Once it's sorted, would you please remove your review?", False),
    ("removal", "en", "We would appreciate it if you could update your rating.", False),
    ("removal", "en", "Maybe you can give us more stars next time.", False),
    ("removal", "nl", "U krijgt een vervangend exemplaar.", True),
    ("removal", "nl", "Zou u uw review willen aanpassen nu het is opgelost?", False),
    ("removal", "nl", "Wilt u de beoordeling verwijderen?", False),
    ("removal", "nl", "Misschien verdienen we nu meer sterren?", False),
    ("removal", "de", "Wir schicken heute Ersatz.", True),
    ("removal", "de", "Bitte die Bewertung löschen.", False),
    ("removal", "fr", "Pourriez-vous supprimer votre avis ?", False),
    ("removal", "fr", "Nous envoyons un remplacement.", True),

    ("placeholder", "en", "Mail us at [e-mail address] with your order number.", False),
    ("placeholder", "en", "Mail us at service@shop.example with your order number.", True),
    ("placeholder", "nl", "Mail ons op [e-mailadres].", False),
    ("placeholder", "nl", "Mail ons op service@shop.example.", True),
]


@pytest.mark.parametrize("rule, language, text, passes", CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_rule_on_real_phrasing(rule, language, text, passes):
    result = finding(text, rule, language=language)
    assert result["passed"] is passes, result
    if rule != "placeholder" and not passes and rule in ("defensive", "removal"):
        assert result["phrases"], "a failing phrase rule names the phrase"


def test_every_rule_has_pass_and_fail_examples_in_nl_and_en():
    covered = {(rule, lang, passes) for rule, lang, _, passes in CASES}
    for rule in ("thanks", "acknowledge", "apology", "offline", "defensive", "removal", "placeholder"):
        for lang in ("nl", "en"):
            assert (rule, lang, True) in covered and (rule, lang, False) in covered, (rule, lang)


def test_removal_in_german_question_form_is_caught():
    # "Bewertung ändern" inside a question: the phrase list covers "Bewertung (zu) ändern".
    assert not finding("Könnten Sie die Bewertung ändern?", "removal", language="de")["passed"]


def test_acknowledge_by_naming_what_the_review_said():
    review = "Na één wasbeurt gekrompen. Gewassen op 30 graden zoals het label zegt."
    named = finding("Bedankt Ingrid. De jurk is gekrompen, dat zoeken we uit.", "acknowledge", language="nl",
                    review_text=review)
    assert named["passed"] and "gekrom" in named["phrases"]
    generic = finding("Bedankt Ingrid. Met vriendelijke groet.", "acknowledge", language="nl", review_text=review)
    assert not generic["passed"]


@pytest.mark.parametrize("language, text, author, role, passes", [
    ("en", "Thank you, we are sorry.\n\nSanne de Vries\nCustomer service", "Sanne de Vries", "Customer service", True),
    ("en", "Thank you, we are sorry. — Sanne, customer service", "Sanne de Vries", "Customer service", True),
    ("en", "Thank you, we are sorry.", "Sanne de Vries", "Customer service", False),
    ("en", "Sanne here. Thank you.\n\nWe are sorry.\n\nWe will fix it.\n\nKind regards", "Sanne", "Owner", False),
    ("nl", "Bedankt en sorry.\n\nGroet, Joost Bakker (eigenaar)", "Joost Bakker", "Eigenaar", True),
    ("nl", "Bedankt en sorry.\n\nGroet, Joost", "Joost Bakker", "Eigenaar", False),
    ("nl", "Bedankt en sorry.\n\nGroet, het team", "", "", False),
])
def test_signature(language, text, author, role, passes):
    assert finding(text, "signature", language=language, author=author, role=role)["passed"] is passes


def test_copy_of_a_recent_reply_is_flagged_and_a_personal_one_is_not():
    earlier = ("Thank you for telling us, and we are sorry this did not work out. Our customer service has "
               "e-mailed you about a free return or an exchange.")
    copy = finding(earlier + "\n\nSanne de Vries\nKlantenservice", "copy", language="en", recent_replies=[earlier])
    assert not copy["passed"] and "%" in copy["message"]
    personal = finding("Thank you, Emily. We are sorry the zip broke on the first wear; our customer service "
                       "sends a new dress today.", "copy", language="en", recent_replies=[earlier])
    assert personal["passed"]


@pytest.mark.parametrize("words, rating, passes", [(5, 1, False), (40, 1, True), (10, 5, True), (5, 5, False),
                                                   (250, 1, False)])
def test_length(words, rating, passes):
    text = " ".join(["woord"] * words)
    assert finding(text, "length", language="nl", rating=rating)["passed"] is passes


def test_positive_reviews_skip_apology_and_offline():
    result = tone.check("Thank you so much, Emily! Enjoy wearing it.\n\nSanne de Vries, Klantenservice",
                        rating=5, language="en", **SIGN)
    rules = {f["rule"] for f in result["findings"]}
    assert not rules & {"apology", "offline", "acknowledge"}
    assert result["problems"] == 0


def test_a_good_reply_passes_everything_in_both_languages():
    nl = ("Beste Ingrid,\n\nBedankt voor uw eerlijke review van de Zomerjurk Linde. Het spijt ons dat de jurk "
          "na één wasbeurt is gekrompen: zo hoort het niet te gaan. We begrijpen hoe vervelend dat is.\n\n"
          "Wilt u ons mailen op service@shop.example met uw ordernummer? Dan sturen we meteen een nieuwe.\n\n"
          "Sanne de Vries\nKlantenservice")
    en = ("Dear Emily,\n\nThank you for your honest review of the Linde dress. We are sorry the seam came loose "
          "after a week; we understand how disappointing that is.\n\nCould you e-mail us at "
          "service@shop.example with your order number? We will send a replacement straight away.\n\n"
          "Sanne de Vries\nKlantenservice")
    for text, lang in ((nl, "nl"), (en, "en")):
        result = tone.check(text, rating=1, language=lang, review_text="gekrompen seam", **SIGN)
        assert result["problems"] == 0, [f for f in result["findings"] if not f["passed"]]


def test_language_detection():
    assert tone.detect_language("Bedankt voor je review, het spijt ons dat de jurk niet past.") == "nl"
    assert tone.detect_language("Thank you for your review, we are sorry the dress does not fit.") == "en"
    assert tone.detect_language("Vielen Dank für Ihre Bewertung, es tut uns leid.") == "de"
    assert tone.detect_language("Merci pour votre avis, nous sommes désolés.") == "fr"
    assert tone.detect_language("") == "en"


def test_messages_in_dutch_for_a_dutch_interface(app):
    from widgetserver.i18n import force_locale, gettext

    with app.test_request_context(), force_locale("nl"):
        result = tone.check("Had u maar beter gelezen.", rating=1, language="nl", gettext=gettext, **SIGN)
    defensive = next(f for f in result["findings"] if f["rule"] == "defensive")
    assert defensive["title"] == "Niet defensief of verwijtend" and "had u maar" in defensive["message"]


def test_result_shape_names_every_rule():
    result = tone.check("x", rating=1, author="A", role="B")
    assert [f["rule"] for f in result["findings"]] == list(tone.RULES)
    for f in result["findings"]:
        assert set(f) == {"rule", "title", "passed", "message", "phrases"}


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=600), st.sampled_from([None, 1, 3, 5]), st.sampled_from([None, "nl", "en", "de", "fr", "xx"]),
       st.text(max_size=40), st.lists(st.text(max_size=200), max_size=3))
def test_never_fails_on_any_text(text, rating, language, author, recent):
    result = tone.check(text, rating=rating, language=language, author=author, role="x", recent_replies=recent)
    assert result["language"] in tone.LANGUAGES
    assert result["problems"] == sum(not f["passed"] for f in result["findings"])


# --- the API endpoint ---------------------------------------------------------------------


def test_api_tone_check(client, db, shop, auth):
    from widgetserver import store

    review_id = store.add_review(db, shop["id"], rating=1, author="Ingrid", title="Gekrompen",
                                 body="Na één wasbeurt gekrompen.", locale="nl")
    response = client.post("/api/v1/shops/acme/tone-check", headers=auth, json={
        "body": "Had u maar het label gelezen.", "author": "Sanne", "role": "Klantenservice",
        "review_id": review_id, "locale": "nl"})
    assert response.status_code == 200
    data = response.json
    assert data["language"] == "nl"
    failed = {f["rule"]: f for f in data["findings"] if not f["passed"]}
    assert {"defensive", "signature", "thanks", "apology", "offline"} <= set(failed)
    assert failed["defensive"]["phrases"] == ["had u maar"]
    assert failed["defensive"]["title"] == "Niet defensief of verwijtend"


def test_api_tone_check_needs_the_shops_key_and_valid_input(client, db, shop, auth, other_shop_key):
    body = {"body": "Thank you!"}
    assert client.post("/api/v1/shops/acme/tone-check", json=body).status_code == 401
    assert client.post("/api/v1/shops/acme/tone-check", json=body,
                       headers={"Authorization": f"Bearer {other_shop_key}"}).status_code == 403
    bad = client.post("/api/v1/shops/acme/tone-check", headers=auth,
                      json={"body": "x" * 5001, "rating": 9, "language": "xx", "review_id": "1"})
    assert bad.status_code == 400
    assert set(bad.json["errors"]) == {"body", "rating", "language", "review_id"}
    missing = client.post("/api/v1/shops/acme/tone-check", headers=auth, json={"body": "x", "review_id": 999})
    assert missing.status_code == 404 and "review_id" in missing.json["errors"]


def test_api_tone_check_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/shops/{shop}/tone-check"]["post"]
    assert operation["operationId"] == "tone_check" and operation["security"] == [{"shopKey": []}]
    assert "ToneCheckInput" in spec["components"]["schemas"] and "ToneCheck" in spec["components"]["schemas"]
