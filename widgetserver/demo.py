"""The demo shop: real (CC0) English reviews plus Dutch ones we wrote, with public replies."""

from __future__ import annotations

import csv
import random
import re
from datetime import timedelta
from importlib import resources

from . import store

SHOP = {"slug": "demo", "name": "Modehuis Eerlijk (demo)", "url": "https://shop.example", "locale": "nl"}

PRODUCTS = {
    "1078": {"sku": "JURK-1078", "name": "Zomerjurk Linde", "url": "https://shop.example/p/jurk-linde",
             "gtin": "8712345010786", "product_id": "https://shop.example/p/jurk-linde#product"},
    "862": {"sku": "TOP-862", "name": "Gebreide top Mila", "url": "https://shop.example/p/top-mila",
            "gtin": "8712345008622", "product_id": "https://shop.example/p/top-mila#product"},
    "829": {"sku": "BLOUSE-829", "name": "Blouse Amber", "url": "https://shop.example/p/blouse-amber",
            "gtin": "8712345008295", "product_id": "https://shop.example/p/blouse-amber#product"},
    "872": {"sku": "TRUI-872", "name": "Katoenen trui Noor", "url": "https://shop.example/p/trui-noor",
            "gtin": "8712345008721", "product_id": "https://shop.example/p/trui-noor#product"},
}

ENGLISH_NAMES = ["Emily R.", "Sarah K.", "Jessica M.", "Ashley", "Megan T.", "Laura B.", "Rachel", "Hannah W.",
                 "Olivia P.", "Grace", "Chloe D.", "Natalie S.", "Amanda L.", "Kate", "Rebecca J.", "Samantha"]

# (rating, product key or None for the shop, title, body, author) — written for this demo.
DUTCH_REVIEWS = [
    (5, "1078", "Precies zoals op de foto", "Mooie stof, valt goed en de maat klopt. Binnen twee dagen in huis.", "Anouk"),
    (4, "1078", "Fijne jurk", "Zit lekker, alleen de ceintuur is wat kort. Verder heel tevreden.", "Marieke V."),
    (2, "1078", "Kleur wijkt af", "Op de foto lichtblauw, in het echt eerder grijs. Jammer, want de pasvorm is goed.", "Fleur"),
    (1, "1078", "Na één wasbeurt gekrompen", "Gewassen op 30 graden zoals het label zegt en nu een maat kleiner. Niet blij mee.", "Ingrid B."),
    (3, "1078", "Redelijk", "Leuke jurk maar de stof kreukt snel. Voor de prijs acceptabel.", "Petra"),
    (5, "862", "Heerlijk zacht", "Draag hem bijna elke dag. Goede kwaliteit breiwerk, geen pluisjes na het wassen.", "Sanne K."),
    (4, "862", "Mooie top", "Valt iets ruim, ik zou een maat kleiner nemen. Kleur is prachtig.", "Lotte"),
    (1, "862", "Naad los na een week", "De zijnaad liet al na een week los. Ik had meer verwacht van deze prijs.", "Esther M."),
    (2, "862", "Te doorschijnend", "Je ziet er echt doorheen; alleen te dragen met een hemd eronder.", "Karin"),
    (5, "862", "Tweede keer besteld", "Zo blij met de eerste dat ik hem ook in het groen heb gekocht.", "Yvonne"),
    (5, "829", "Chique blouse", "Perfect voor op kantoor, strijkt makkelijk en zit netjes.", "Nathalie"),
    (3, "829", "Mouwen te lang", "Mooie blouse, maar de mouwen zijn voor mij zeker vijf centimeter te lang.", "Joke van D."),
    (2, "829", "Knoopjes van slechte kwaliteit", "Twee knoopjes zaten los bij levering. De stof is wel mooi.", "Daphne"),
    (4, "829", "Goede koop", "Netjes afgewerkt en snel geleverd. Ik geef vier sterren omdat hij wat dun is.", "Hanneke"),
    (5, "872", "Warm en niet kriebelig", "Eindelijk een trui die niet kriebelt. Aanrader voor de winter.", "Mirjam"),
    (4, "872", "Fijne trui", "Goede pasvorm, de kleur is iets donkerder dan op de site.", "Ellen"),
    (1, "872", "Verkeerde maat geleverd", "Besteld in M, kreeg een XL. Retour duurde drie weken.", "Bianca"),
    (3, "872", "Oké", "Prima trui, niets bijzonders. Levering was snel.", "Wendy"),
    (5, None, "Snelle levering en vriendelijke service", "Vragen via de chat werden binnen een uur beantwoord. Top!", "Monique"),
    (4, None, "Goede winkel", "Ruime keuze en duidelijke maattabellen. Verzendkosten mogen lager.", "Saskia"),
    (1, None, "Retour duurt veel te lang", "Drie weken op mijn geld moeten wachten na een retour. Slechte communicatie.", "Patrick"),
    (2, None, "Pakket beschadigd", "De doos was kapot en er zat geen pakbon bij. De kleding zelf was wel in orde.", "Ruud"),
    (5, None, "Eerlijke winkel", "Fijn dat je hier ook de slechte reviews kunt lezen. Dat geeft vertrouwen.", "Jeroen"),
    (3, None, "Wisselend", "Eerste bestelling ging perfect, de tweede kwam een week te laat.", "Linda"),
    (5, None, "Altijd raak", "Al jaren klant en nog nooit een verkeerde bestelling gehad.", "Carla"),
    (4, None, "Prima", "Netjes verpakt, snel in huis. Website kan overzichtelijker.", "Tom"),
    (2, None, "Klantenservice onbereikbaar", "Drie keer gebeld, niemand nam op. Uiteindelijk per mail opgelost.", "Gerda"),
    (5, None, "Super", "Ruilen ging zonder gedoe. Dank jullie wel!", "Fatima"),
    (4, "1078", "Leuk voor de zomer", "Luchtige stof, ideaal bij warm weer.", "Noor"),
    (5, "829", "Heel tevreden", "Precies wat ik zocht, goede kwaliteit voor een eerlijke prijs.", "Roos"),
]

DUTCH_REPLIES = {
    "Na één wasbeurt gekrompen": "Wat vervelend, Ingrid. Dit hoort niet te gebeuren. We hebben contact met u opgenomen "
                                 "voor een nieuwe jurk en laten de stof opnieuw testen.",
    "Naad los na een week": "Sorry Esther, dat is een productiefout. U krijgt een vervangend exemplaar; "
                            "we hebben de leverancier op de hoogte gebracht.",
    "Kleur wijkt af": "Dank voor de melding, Fleur. We hebben de productfoto's opnieuw laten maken zodat de kleur klopt.",
    "Retour duurt veel te lang": "U heeft gelijk, Patrick: drie weken is te lang. We hebben ons retourproces aangepast; "
                                 "terugbetalen gebeurt nu binnen vijf werkdagen.",
    "Verkeerde maat geleverd": "Excuses, Bianca. Er ging iets mis in ons magazijn. Retourzendingen zijn voortaan gratis.",
    "Eerlijke winkel": "Dank je wel, Jeroen! Daarom laten we ze ook allemaal zien.",
    "Klantenservice onbereikbaar": "Sorry Gerda. We hebben sinds kort extra mensen aan de telefoon; "
                                   "u kunt ons nu ook via de chat bereiken.",
}

ENGLISH_REPLY_LOW = ("Thank you for telling us, and we are sorry this did not work out. Our customer service has "
                     "e-mailed you about a free return or an exchange.")
ENGLISH_REPLY_HIGH = "Thank you so much for your kind words. Enjoy wearing it!"
REPLY_SIGNATURES = [("Sanne de Vries", "Klantenservice"), ("Joost Bakker", "Eigenaar")]


def build_demo(db, seed: int = 2026) -> tuple[bool, str]:
    """Create the demo shop with products, reviews and replies if absent; returns (created, new API key)."""
    shop = store.get_shop(db, SHOP["slug"])
    created = shop is None
    if created:
        _fill(db, seed)
        shop = store.get_shop(db, SHOP["slug"])
    return created, store.create_key(db, shop["id"], label="demo")


def _fill(db, seed: int) -> None:
    rnd = random.Random(seed)
    now = store.utcnow()
    with store.write(db):
        shop = store.create_shop(db, SHOP["slug"], SHOP["name"], SHOP["url"], SHOP["locale"])
        for product in PRODUCTS.values():
            fields = {k: v for k, v in product.items() if k != "sku"}
            store.upsert_product(db, shop["id"], product["sku"], actor="demo", **fields)
        entries = []
        path = resources.files("widgetserver") / "data" / "demo_reviews.csv"
        with path.open(encoding="utf-8", newline="") as stream:
            for row in csv.DictReader(stream):
                text = whole_sentences(row["text"])
                if text is None:
                    continue  # cut off too early in the source to keep a sentence
                entries.append(("en", int(row["rating"]), PRODUCTS[row["clothing_id"]]["sku"],
                                row["title"], text, rnd.choice(ENGLISH_NAMES), f"kaggle-{row['source_row']}"))
        for i, (rating, product, title, body, author) in enumerate(DUTCH_REVIEWS):
            entries.append(("nl", rating, PRODUCTS[product]["sku"] if product else None, title, body, author, f"nl-{i}"))
        # Spread over two years, the Dutch ones mostly recent so the first page shows both languages.
        for locale, rating, sku, title, body, author, external_id in entries:
            days = rnd.uniform(0, 60) if locale == "nl" else rnd.uniform(0, 730)
            created_at = now - timedelta(days=days, seconds=rnd.randint(0, 86399))
            review_id = store.add_review(
                db, shop["id"], rating=rating, author=author, title=title, body=body, locale=locale,
                product_sku=sku, source="import", created_at=created_at, external_id=external_id, actor="demo",
            )
            reply = _reply_for(locale, rating, title, rnd)
            replied_at = reply_time(created_at, now, rnd) if reply else None
            if replied_at:
                name, role = rnd.choice(REPLY_SIGNATURES)
                if locale == "en":
                    role = {"Klantenservice": "Customer service", "Eigenaar": "Owner"}[role]
                store.set_reply(db, shop["id"], review_id, body=reply, author=name, role=role, actor="demo")
                db.execute("UPDATE replies SET created_at = ?, updated_at = ? WHERE review_id = ?",
                           [store.format_time(replied_at)] * 2 + [review_id])
        for i, (hours, rating, product, title, body, author) in enumerate(FRESH_REVIEWS):
            store.add_review(db, shop["id"], rating=rating, author=author, title=title, body=body, locale="nl",
                             product_sku=PRODUCTS[product]["sku"], source="import",
                             created_at=now - timedelta(hours=hours), external_id=f"nl-fresh-{i}", actor="demo")
        store.update_shop_settings(db, shop["id"], actor="demo", contact_email="service@shop.example",
                                   contact_phone="+31 20 123 4567")


# Reviews that just arrived, so the workspace inbox shows its reply clocks: (hours ago, rating, product, title, body, author)
FRESH_REVIEWS = [
    (3, 1, "1078", "Rits kapot bij eerste keer dragen",
     "De rits van de jurk brak meteen de eerste keer dat ik hem aandeed. Nu kan ik hem niet dragen op het feest.", "Mirella"),
    (10, 3, "872", "Mooi, maar pluist", "Fijne trui en warm, maar na twee keer dragen zitten er al pluisjes op.", "Annemiek"),
]

DEMO_OWNER = {"email": "owner@demo.example", "name": "Joost Bakker", "title": "Eigenaar"}


def demo_login(db) -> tuple[str, str]:
    """The demo shop owner's login: created on first use, a fresh random password each time."""
    import secrets

    from .workspace import users

    password = secrets.token_urlsafe(9)
    user = users.user_by_email(db, DEMO_OWNER["email"])
    if user is None:
        shop = store.get_shop(db, SHOP["slug"])
        users.create_user(db, shop_id=shop["id"], role="owner", password=password, actor="demo", **DEMO_OWNER)
    else:
        users.set_password(db, user["id"], password, actor="demo")
    return DEMO_OWNER["email"], password


# The source texts were cut at a fixed length, often mid-word: keep whole sentences only.
SENTENCE_END = re.compile(r"[.!?)](?=\s|$)")
MIN_KEPT = 60


def whole_sentences(text: str) -> str | None:
    """`text` up to its last complete sentence, or None when less than MIN_KEPT characters would remain."""
    text = " ".join(text.split())
    if re.search(r"[.!?)]$", text):
        return text
    ends = [m.end() for m in SENTENCE_END.finditer(text)]
    if not ends or ends[-1] < MIN_KEPT:
        return None
    return text[:ends[-1]]


def reply_time(review_at, now, rnd: random.Random):
    """When the shop answered: one hour to two days after the review (mostly within a day), before now.

    None for a review too recent to have been answered yet.
    """
    window = min(48.0, (now - review_at).total_seconds() / 3600 - 0.25)
    if window < 1:
        return None
    return review_at + timedelta(hours=rnd.triangular(1, window, min(6.0, window)))


def _reply_for(locale: str, rating: int, title: str, rnd: random.Random) -> str | None:
    if locale == "nl":
        return DUTCH_REPLIES.get(title)
    if rating <= 2:
        rnd.random()  # (kept: the draw that used to decide, so the rest of the demo stays the same)
        return ENGLISH_REPLY_LOW
    if rating == 5 and rnd.random() < 0.05:
        return ENGLISH_REPLY_HIGH
    return None
