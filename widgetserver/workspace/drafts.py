"""Reply drafts: a starting point in the review's language that follows the advice on answering reviews.

A draft to a review of three stars or fewer thanks the customer, names what
went wrong (topics found in the review: delivery, fit, quality, colour,
returns, customer service, packaging, a wrong item), apologises without
blaming, invites them to continue by e-mail or phone (the shop's contact
details from its settings; a visible [placeholder] when none are set, which
the tone check flags), and is signed with the writer's name and role. A draft
to a positive review thanks them and mentions the product. It never asks the
customer to change or remove their review. Wording varies by review, and a
variant too close to one of the shop's recent replies is skipped.
"""

from __future__ import annotations

import re

from .. import tone

LANGUAGES = ("nl", "en", "de", "fr")

# Words in a review that point at a topic (matched on lower-cased text, any language).
TOPIC_WORDS = {
    "wrong_item": ["wrong item", "wrong size", "wrong colour", "wrong color", "not what i ordered", "verkeerde",
                   "ontbrak", "ontbreekt", "niet besteld", "falsche", "fehlte", "mauvais article", "manquait"],
    "quality": ["quality", "broke", "broken", "ripped", "tear", "seam", "hole", "defect", "fell apart", "pilling",
                "shrank", "shrunk", "faded", "kwaliteit", "kapot", "gescheurd", "naad", "gat ", "gekrompen",
                "krimp", "verkleurd", "pluis", "los ", "qualität", "kaputt", "eingelaufen", "qualité", "cassé",
                "déchir", "rétréci"],
    "size": ["size", "fit", "too small", "too big", "too large", "tight", "loose", "sleeve", "maat", "pasvorm",
             "te klein", "te groot", "ruim", "krap", "mouwen", "größe", "passform", "taille", "manches"],
    "colour": ["colour", "color", "shade", "photo", "picture", "kleur", "foto", "farbe", "couleur"],
    "delivery": ["deliver", "shipping", "shipped", "arrived late", "courier", "levering", "geleverd", "bezorg",
                 "verzend", "te laat", "lieferung", "versand", "livraison", "livré", "retard"],
    "returns": ["return", "refund", "exchange", "money back", "retour", "terugbetal", "geld terug", "ruilen",
                "rücksend", "erstattung", "remboursement", "renvoi"],
    "service": ["customer service", "no answer", "nobody answered", "rude", "klantenservice", "onbereikbaar",
                "niemand nam", "communicatie", "kundenservice", "service client"],
    "packaging": ["packag", "damaged", "box", "verpakking", "doos", "beschadigd", "verpackung", "beschädigt",
                  "emballage", "abîmé"],
}

TEXT = {
    "en": {
        "dear": "Dear {name},", "dear_anon": "Dear customer,",
        "thanks_neg": ["Thank you for taking the time to tell us about {subject}.",
                       "Thank you for your honest review of {subject}.",
                       "Thanks for letting us know how {subject} worked out for you."],
        "topics": {
            "wrong_item": "you did not receive what you ordered", "quality": "the quality let you down",
            "size": "the fit was not what you expected", "colour": "the colour looked different from what you saw on our site",
            "delivery": "the delivery did not go as it should", "returns": "your return did not go smoothly",
            "service": "our customer service was hard to reach", "packaging": "your parcel did not arrive in good shape",
        },
        "ack_topic": "We are sorry that {topic}: that is not the experience we want you to have.",
        "ack_generic": "We are sorry that your experience fell short of what you expected; that is not the experience we want you to have.",
        "understand": ["We understand how frustrating that is.", "We can imagine how disappointing that is.",
                       "We completely understand your frustration."],
        "offline_both": "We would like to put this right. Could you e-mail us at {email} or call {phone}, with your order number? We will look into it straight away.",
        "offline_email": "We would like to put this right. Could you e-mail us at {email} with your order number? We will look into it straight away.",
        "offline_phone": "We would like to put this right. Could you call us on {phone}, with your order number at hand? We will look into it straight away.",
        "offline_none": "We would like to put this right. Could you e-mail us at [e-mail address] with your order number? We will look into it straight away.",
        "thanks_pos": ["Thank you so much for your review of {subject}!", "Thank you for your kind words about {subject}!",
                       "Many thanks for taking the time to review {subject}!"],
        "glad": ["We are really glad to hear you are happy with it.", "It's great to hear it was what you hoped for.",
                 "Reviews like yours make our day."],
        "three_glad": "We are glad some things were right, and we hear you about what could be better.",
        "see_you": "We hope to welcome you back soon.",
        "your_order": "your order", "product": "the {product}",
    },
    "nl": {
        "dear": "Beste {name},", "dear_anon": "Beste klant,",
        "thanks_neg": ["Bedankt dat u de tijd nam om ons te vertellen over {subject}.",
                       "Bedankt voor uw eerlijke review van {subject}.",
                       "Dank u wel dat u laat weten hoe het ging met {subject}."],
        "topics": {
            "wrong_item": "u niet kreeg wat u had besteld", "quality": "de kwaliteit u heeft teleurgesteld",
            "size": "de pasvorm niet was wat u verwachtte", "colour": "de kleur anders was dan op onze site",
            "delivery": "de levering niet ging zoals het hoort", "returns": "uw retour niet soepel verliep",
            "service": "onze klantenservice slecht bereikbaar was", "packaging": "uw pakket niet heel aankwam",
        },
        "ack_topic": "Het spijt ons dat {topic}: zo hoort het niet te gaan.",
        "ack_generic": "Het spijt ons dat het niet was wat u verwachtte; zo hoort het niet te gaan.",
        "understand": ["We begrijpen goed hoe vervelend dat is.", "We kunnen ons voorstellen hoe teleurstellend dat is.",
                       "We snappen uw frustratie helemaal."],
        "offline_both": "We willen dit graag goedmaken. Wilt u ons mailen op {email} of bellen met {phone}, met uw ordernummer erbij? Dan zoeken we het meteen uit.",
        "offline_email": "We willen dit graag goedmaken. Wilt u ons mailen op {email}, met uw ordernummer erbij? Dan zoeken we het meteen uit.",
        "offline_phone": "We willen dit graag goedmaken. Wilt u ons bellen op {phone}, met uw ordernummer bij de hand? Dan zoeken we het meteen uit.",
        "offline_none": "We willen dit graag goedmaken. Wilt u ons mailen op [e-mailadres], met uw ordernummer erbij? Dan zoeken we het meteen uit.",
        "thanks_pos": ["Hartelijk bedankt voor uw review van {subject}!", "Bedankt voor uw mooie woorden over {subject}!",
                       "Dank u wel dat u de tijd nam voor een review van {subject}!"],
        "glad": ["Wat fijn om te horen dat u er blij mee bent.", "Leuk om te lezen dat het was wat u hoopte.",
                 "Van zulke reviews worden we blij."],
        "three_glad": "Fijn dat een deel goed was, en we horen wat er beter kan.",
        "see_you": "We hopen u snel weer te zien.",
        "your_order": "uw bestelling", "product": "de {product}",
    },
    "de": {
        "dear": "Hallo {name},", "dear_anon": "Guten Tag,",
        "thanks_neg": ["Danke, dass Sie sich die Zeit genommen haben, uns von {subject} zu berichten.",
                       "Vielen Dank für Ihre ehrliche Bewertung zu {subject}."],
        "topics": {
            "wrong_item": "Sie nicht erhalten haben, was Sie bestellt hatten", "quality": "die Qualität Sie enttäuscht hat",
            "size": "die Passform nicht Ihren Erwartungen entsprach", "colour": "die Farbe anders aussah als auf unserer Seite",
            "delivery": "die Lieferung nicht so lief, wie sie sollte", "returns": "Ihre Rücksendung nicht reibungslos lief",
            "service": "unser Kundenservice schwer erreichbar war", "packaging": "Ihr Paket nicht unbeschädigt ankam",
        },
        "ack_topic": "Es tut uns leid, dass {topic}: So soll es nicht sein.",
        "ack_generic": "Es tut uns leid, dass es nicht Ihren Erwartungen entsprach; so soll es nicht sein.",
        "understand": ["Wir verstehen, wie ärgerlich das ist.", "Wir können gut verstehen, wie enttäuschend das ist."],
        "offline_both": "Wir möchten das gern wiedergutmachen. Schreiben Sie uns an {email} oder rufen Sie uns unter {phone} an, mit Ihrer Bestellnummer. Wir kümmern uns sofort darum.",
        "offline_email": "Wir möchten das gern wiedergutmachen. Schreiben Sie uns an {email}, mit Ihrer Bestellnummer. Wir kümmern uns sofort darum.",
        "offline_phone": "Wir möchten das gern wiedergutmachen. Rufen Sie uns unter {phone} an, mit Ihrer Bestellnummer. Wir kümmern uns sofort darum.",
        "offline_none": "Wir möchten das gern wiedergutmachen. Schreiben Sie uns an [E-Mail-Adresse], mit Ihrer Bestellnummer. Wir kümmern uns sofort darum.",
        "thanks_pos": ["Vielen Dank für Ihre Bewertung zu {subject}!", "Danke für Ihre freundlichen Worte zu {subject}!"],
        "glad": ["Wir freuen uns sehr, dass Sie zufrieden sind.", "Schön zu lesen, dass es Ihren Erwartungen entsprach."],
        "three_glad": "Schön, dass manches gepasst hat, und danke für Ihre Hinweise, was besser sein kann.",
        "see_you": "Wir freuen uns auf Ihren nächsten Besuch.",
        "your_order": "Ihrer Bestellung", "product": "{product}",
    },
    "fr": {
        "dear": "Bonjour {name},", "dear_anon": "Bonjour,",
        "thanks_neg": ["Merci d'avoir pris le temps de nous parler de {subject}.",
                       "Merci pour votre avis sincère sur {subject}."],
        "topics": {
            "wrong_item": "vous n'ayez pas reçu ce que vous aviez commandé", "quality": "la qualité vous ait déçu",
            "size": "la coupe ne corresponde pas à vos attentes", "colour": "la couleur soit différente de notre site",
            "delivery": "la livraison ne se soit pas passée comme prévu", "returns": "votre retour ne se soit pas bien passé",
            "service": "notre service client ait été difficile à joindre", "packaging": "votre colis soit arrivé abîmé",
        },
        "ack_topic": "Nous sommes désolés que {topic} : ce n'est pas l'expérience que nous voulons vous offrir.",
        "ack_generic": "Nous sommes désolés que votre expérience n'ait pas été à la hauteur ; ce n'est pas ce que nous voulons vous offrir.",
        "understand": ["Nous comprenons à quel point c'est frustrant.", "Nous comprenons votre déception."],
        "offline_both": "Nous souhaitons arranger cela. Pouvez-vous nous écrire à {email} ou nous appeler au {phone}, avec votre numéro de commande ? Nous nous en occupons tout de suite.",
        "offline_email": "Nous souhaitons arranger cela. Pouvez-vous nous écrire à {email}, avec votre numéro de commande ? Nous nous en occupons tout de suite.",
        "offline_phone": "Nous souhaitons arranger cela. Pouvez-vous nous appeler au {phone}, avec votre numéro de commande ? Nous nous en occupons tout de suite.",
        "offline_none": "Nous souhaitons arranger cela. Pouvez-vous nous écrire à [adresse e-mail], avec votre numéro de commande ? Nous nous en occupons tout de suite.",
        "thanks_pos": ["Merci beaucoup pour votre avis sur {subject} !", "Merci pour vos mots gentils sur {subject} !"],
        "glad": ["Nous sommes ravis qu'il vous plaise.", "Quel plaisir de lire que c'était ce que vous espériez."],
        "three_glad": "Nous sommes contents que certaines choses vous aient plu, et nous retenons ce qui peut être amélioré.",
        "see_you": "Au plaisir de vous revoir bientôt.",
        "your_order": "votre commande", "product": "{product}",
    },
}


# The measured complaint topics (widgetserver/topics.py, nl and en) as the draft's topic keys.
MEASURED_TO_DRAFT = {
    "wrong_item": "wrong_item", "quality": "quality", "size_fit": "size", "delivery_time": "delivery",
    "returns_refunds": "returns", "customer_service": "service", "communication": "service",
    "damaged": "packaging", "packaging": "packaging",
}


def topics_of(text: str, language: str | None = None) -> list[str]:
    """The topics a review is about, in the order of TOPIC_WORDS (most specific first).

    Dutch and English use the measured complaint rules of widgetserver/topics.py (negations understood:
    "niet beschadigd" is no damage); other languages fall back to the word lists above.
    """
    from .. import topics

    folded = f" {text.lower()} "
    listed = [topic for topic, words in TOPIC_WORDS.items() if any(word in folded for word in words)]
    if not topics.language(language):
        return listed
    found = {MEASURED_TO_DRAFT[t] for t in topics.topics_of(text, language) if t in MEASURED_TO_DRAFT}
    found |= {t for t in listed if t not in MEASURED_TO_DRAFT.values()}  # colour: no measured rule yet
    return [topic for topic in TOPIC_WORDS if topic in found]


def first_name(author: str) -> str | None:
    """The name to greet: the author's first word, unless it is no name (anonymous, initials only)."""
    word = (author or "").strip().split(" ")[0].strip(".,")
    if len(word) < 2 or word.lower() in {"anonymous", "anoniem", "anonym", "anonyme", "klant", "customer"}:
        return None
    return word


def draft_reply(review: dict, *, language: str, shop_name: str, product_name: str | None, author: str, role: str,
                email: str = "", phone: str = "", recent_replies=()) -> str:
    """A reply draft for `review` (its rating, title, body, author, id) in `language`, signed by author and role."""
    text = TEXT.get(language, TEXT["en"])
    name = first_name(review.get("author", ""))
    subject = text["product"].format(product=product_name) if product_name else text["your_order"]
    rating = review["rating"]
    seed = int(review.get("id") or 0)
    signature = f"{author}\n{role}, {shop_name}" if role else f"{author}\n{shop_name}"
    greeting = text["dear"].format(name=name) if name else text["dear_anon"]
    found = topics_of(f"{review.get('title', '')}. {review.get('body', '')}", language)

    def compose(variant: int) -> str:
        def pick(options: list[str]) -> str:
            return options[(seed + variant) % len(options)]

        if rating >= 4:
            middle = [f"{pick(text['thanks_pos']).format(subject=subject)} {pick(text['glad'])} {text['see_you']}"]
        else:
            topic = text["topics"].get(found[0]) if found else None
            ack = text["ack_topic"].format(topic=topic) if topic else text["ack_generic"]
            opening = pick(text["thanks_neg"]).format(subject=subject)
            if rating == 3:
                opening += " " + text["three_glad"]
            offline = ("offline_both" if email and phone else "offline_email" if email
                       else "offline_phone" if phone else "offline_none")
            middle = [f"{opening} {ack} {pick(text['understand'])}",
                      text[offline].format(email=email, phone=phone)]
        return "\n\n".join([greeting, *middle, signature])

    draft = compose(0)
    for variant in range(1, 4):  # another wording when this one is too close to a recent reply
        if not any(tone.similarity(draft, other) >= tone.COPY_THRESHOLD for other in recent_replies):
            break
        draft = compose(variant)
    return re.sub(r"[ \t]+\n", "\n", draft)
