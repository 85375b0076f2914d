"""Recurring complaints: which of ten topics a review complains about, by transparent phrase rules.

No model, no download, nothing leaves the server: each topic has, per
language (nl, en; German and French fall back to no topics rather than to
guesses), a few regular expressions that describe a *complaint* about it
("runs small", "kwam beschadigd aan", "still waiting for my refund"). A topic
is found when one of its patterns matches inside a clause and is not negated:

- clauses are split at `. ! ? ; ,` and at "but" / "maar", so "not fast, but
  on time" is two clauses;
- a match is negated when one of the three words before it, in its clause, is a
  negation ("not", "no", "never", "without", "n't"; "niet", "geen", "nooit",
  "zonder"): "niet beschadigd aangekomen", "not too big". Patterns that *are* a
  negative phrase ("no reply", "geen bericht") are written so that the
  negation is part of the match and is not looked for before it;
- some cues only count next to a context: a tear is "damaged on arrival" only
  when the clause or sentence says it arrived like that (arrived, opened,
  in the box, bij aankomst...); otherwise it is a quality complaint.

Measured on a hand-labelled set (tests/data/topics_labelled.csv: real English
reviews from the CC0 clothing set and Dutch reviews written for it), held-out
half: see docs/benchmarks.md and `python benchmarks/topics_eval.py`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

TOPICS = ("delivery_time", "damaged", "packaging", "size_fit", "quality", "customer_service",
          "returns_refunds", "price", "wrong_item", "communication")

NEGATIONS = {
    "en": re.compile(r"\b(not|no|never|without|nothing|n't|isnt|wasnt|didnt|dont|doesnt|none)\b|n't\b"),
    "nl": re.compile(r"\b(niet|geen|nooit|zonder|niks|niets)\b"),
}
CLAUSE = {
    "en": re.compile(r"[.!?;\n]+|,\s|\s(?:but|although|though|however)\s"),
    "nl": re.compile(r"[.!?;\n]+|,\s|\s(?:maar|hoewel)\s"),
}
SENTENCE = re.compile(r"[.!?\n]+")


@dataclass(frozen=True)
class Rule:
    """One pattern of a topic: `cue` must match in a clause; `context` (if any) somewhere in the sentence;
    `unless` must not match in the sentence; `negatable` rules are dropped when a negation precedes the cue."""

    cue: str
    context: str | None = None
    unless: str | None = None
    negatable: bool = True
    whole_sentence: bool = False  # match across the sentence's clauses ("kost €6,95, dat vind ik veel")


ARRIVAL = {
    "en": r"arriv|received|came\b|delivered|out of the (bag|box|package)|opened|in the (box|package)|package|parcel|"
          r"before (even )?(putting|wearing|trying)|when i got it",
    "nl": r"aankomst|aangekomen|aankwam|kwam\b|binnenkwam|binnen\b|opende|in de doos|geleverd|ontvangen|pakket|doos|"
          r"verpakking|bezorg|envelop",
}

RULES: dict[str, dict[str, list[Rule]]] = {
    "en": {
        "delivery_time": [
            Rule(r"took (forever|ages|weeks|too long|so long|a long time)"),
            Rule(r"(arrived|came|delivered|shipped) (\w+ ){0,3}late\b|\blate (delivery|arrival)"),
            Rule(r"(delivery|shipping) (was |is |took )?(slow|late|delayed|forever)"),
            Rule(r"still waiting for (my |the )?(order|package|parcel|delivery)"),
            Rule(r"\bdelay(ed|s)?\b"),
            Rule(r"never (arrived|came|showed up)", negatable=False),
        ],
        "damaged": [
            Rule(r"damaged|broken|torn|ripped|snagged|stained|cracked|dented|crushed|wrinkled mess|fell off|\bhole\b",
                 context=ARRIVAL["en"]),
        ],
        "packaging": [
            Rule(r"(poor|bad|badly|poorly|cheap|flimsy|excessive|too much|careless(ly)?) (\w+ )?"
                 r"(packag|pack(ed)?\b|wrapp|box)"),
            Rule(r"(box|package|parcel|envelope|packaging) (was |came )?(crushed|dented|open|torn|soaked|wet|damaged)"),
        ],
        "size_fit": [
            Rule(r"runs? (very |really |way |quite |a (little|bit) |extremely |pretty )?"
                 r"(small|large|big|huge|long|short|narrow|wide|true)"),
            Rule(r"too (big|small|large|tight|long|short|wide|narrow|loose|baggy|boxy|snug|billowy|flowy|full|"
                 r"voluminous|low|high|much (fabric|material|volume))"),
            Rule(r"(sizing|size) (is |was )?(off|wrong|weird|inconsistent|strange)|size (down|up)\b"),
            Rule(r"(n't|not) fit|did not fit|doesn't fit|didn't fit"),
            Rule(r"unflattering|not (very |at all |as )?flattering|frumpy|matronly|shapeless|boxy|baggy|"
                 r"oversized|gigantic|enormous|\btent\b|\bsack\b|swimming in|maternity|pregnan|potato"),
            Rule(r"(odd|weird|awkward|strange|bad|poor|wrong|funky) (fit|cut|shape|sizing)|"
                 r"fit (is |was )?(odd|weird|awkward|off|strange|bad|poor)|cut (is |was )?(weird|odd|strange)"),
            Rule(r"(baggier|bigger|smaller|tighter|longer|shorter|wider|fuller|boxier|larger) than (i )?"
                 r"(expected|pictured|shown|it (looks|appears)|on the model|described)|crop(ped)? (top|fit)|"
                 r"lies (very )?high|so much fabric|sausage|crazy small|sleeves (were|are) (\w+ )?short|"
                 r"didn't work for me|did not work for me|\bsags?\b|fits? like a"),
            Rule(r"\b(huge|tight|snug|short|long) (on me|in the|around|across|under)\b|"
                 r"(was|is|were|are|felt|ran) (very |so |way |really |too |a bit |quite )*(huge|tight|snug|big|small)\b"),
        ],
        "quality": [
            Rule(r"(poor|bad|cheap|low|terrible|awful|questionable) (\w+ )?(quality|fabric|material|construction|"
                 r"made|fabrication)"),
            Rule(r"cheap(ly)?\b|flimsy|see[- ]?(through|thru)|\bsheer\b|itchy|scratchy|pilling|pilled|"
                 r"unravel|fell apart|falling apart|shr[au]nk|shrinking|faded|lost (so much |its )?colou?r|"
                 r"\bstiff\b|smell|stinky|coarse|unfinished|snags? (very )?easily"),
            Rule(r"(zipper|seam|button|strap|stitch)\w* (\w+ ){0,2}(broke|came off|fell off|ripped|horrible|"
                 r"came apart)|started to (rip|tear|fall apart)|\brip\b|\btear\b"),
            Rule(r"quality (is |was )?(poor|bad|lacking|not there|leaves|upsetting|disappointing)|"
                 r"disappointed (in|with) the (quality|fabric)|not (very )?(well|nicely) made|thinner (fabric )?than|"
                 r"(material|fabric) (isn't|is not|wasn't|was not) (great|good)|"
                 r"(fabric|material) (is |was )?(thin|bad|blah|cheap)"),
        ],
        "customer_service": [
            Rule(r"customer (service|support|care) (was |is )?(\w+ )?(rude|unhelpful|terrible|awful|useless|slow|"
                 r"poor|bad|non-?existent|unreachable)"),
            Rule(r"(rude|unhelpful|unfriendly) (staff|customer service|rep|agent|person|employee)"),
            Rule(r"(no one|nobody) (could|would|was able to) help", negatable=False),
            Rule(r"(never|didn't|did not) (call|get back|got back)", negatable=False),
        ],
        "returns_refunds": [
            Rule(r"(still )?waiting (for|on) (my |a |the )?refund|no refund|refund (is |was )?(still|never|late|"
                 r"slow)|money back (yet|still)", negatable=False),
            Rule(r"return (process|policy|shipping|label)\w*[^.]{0,30}(pain|hassle|difficult|expensive|complicated|"
                 r"cost|never)|(had|have) to pay (for )?(the )?return"),
            Rule(r"return(ing)? (it )?(was|is) (a )?(pain|hassle|nightmare|difficult)"),
        ],
        "price": [
            Rule(r"over ?priced|too expensive|\bexpensive\b|pricey|not worth (the|it)|waste of money|"
                 r"for the price|price (is|was) (too )?high|costly|expected more for"),
        ],
        "wrong_item": [
            Rule(r"(wrong|different) (item|size|colou?r|product|model|one|style)|sent (me )?the wrong|"
                 r"not what i ordered|instead of (the|what|my)|came without|missing (the|a|one|part)|only one of"),
        ],
        "communication": [
            Rule(r"\b(no|never got a|never received a) (reply|response|answer|update|confirmation|tracking|"
                 r"e-?mail|word|notification)", negatable=False),
            Rule(r"(didn't|did not|never|doesn't|does not) (repl(y|ied)|respond(ed)?|answer(ed)?|hear(d)? back|"
                 r"inform(ed)?|let me know|told me|tell me|notif(y|ied))", negatable=False),
            Rule(r"tracking (number |link )?(doesn't|does not|didn't|did not|never) work", negatable=False),
            Rule(r"(no one|nobody) (told|informed|replied|answered)", negatable=False),
        ],
    },
    "nl": {
        "delivery_time": [
            Rule(r"levertijd[^.]{0,40}(lang|weken|\d+ dagen)|(lange|drie weken|twee weken) levertijd|"
                 r"levertijd (van|was) \d+"),
            Rule(r"duurde[^.]{0,30}(lang|weken|eeuwigheid|dagen)|eeuwigheid|lang (op )?(gewacht|moeten wachten)"),
            Rule(r"te laat|later dan (de )?(beloofd|afgesproken|verwacht)|week later|dagen later"),
            Rule(r"\bpas (na|op) |pas \w+ (binnen|geleverd|ontvangen|bezorgd)|\bpas \w+dag\b",
                 unless=r"antwoord|reageer|reactie|hoorde"),
            Rule(r"uitgesteld|vertraagd|vertraging"),
            Rule(r"(twee|drie|vier|\d+) weken (gewacht|op|levertijd|geleden besteld)|ruim \w+ dagen gewacht",
                 unless=r"terugbetal|geld|retour"),
            Rule(r"(waar|wanneer) (mijn )?(bestelling|pakket) blijft", negatable=False),
        ],
        "damaged": [
            Rule(r"beschadig|kapot|stuk\b|gebroken|scheur|kras|deuk|gedeukt|ingedeukt|geknakt|geplet|scherven|"
                 r"vlek(ken)?\b|doorweekt|\bgat\b|vouwen", context=ARRIVAL["nl"]),
        ],
        "packaging": [
            Rule(r"(slecht|niet goed|onvoldoende|veel te veel|onnodig veel|te veel|zonder bescherming|los)\b[^.]{0,20}"
                 r"(verpakt|verpakking|ingepakt|doos|envelop)"),
            Rule(r"(verpakking|doos|envelop|schoenendoos)[^.]{0,15}(open\b|ingedeukt|gedeukt|doorweekt|\bnat\b|"
                 r"kapot|te klein|te groot|zonder bescherming)|lag (er )?los in|(plastic|piepschuim)\b[^.]{0,40}"
                 r"(verpakking|onnodig|voor één)|zonder bescherming", negatable=False),
        ],
        "size_fit": [
            Rule(r"valt (erg |veel |wat |heel |iets |een (halve )?maat |te )?(klein|groot|ruim|krap|kort|lang|smal|"
                 r"wijd|kleiner|groter)"),
            Rule(r"(te|veel te|iets te|wat te) (klein|groot|strak|kort|lang|wijd|ruim|krap|smal|nauw)",
                 unless=r"(doos|verpakking|envelop)\w* (was |is )?(\w+ )?te (klein|groot)"),
            Rule(r"maat (klopt|viel|valt|paste) niet|(past|paste|passen|pasten) niet|de maat niet klopt|"
                 r"maten? (groter|kleiner)|knellen|knelt|(kleiner|groter) dan aangegeven|maattabel", negatable=False),
        ],
        "quality": [
            Rule(r"(slechte|matige|lage|slecht|matig|rommelig|goedkope) (kwaliteit|stof|afwerking|genaaid)|"
                 r"kwaliteit[^.]{0,20}(slecht|matig|tegenvallend)|betere kwaliteit (verwacht|had)|"
                 r"prijs-?kwaliteit\w* (is )?slecht"),
            Rule(r"goedkoop aan|voelt goedkoop|\bdun\b|pluis|losgeraakt|los(ge)?laten|lieten los|uitgelubberd|"
                 r"\bvaal\b|scheef|draadjes|rommelig|defect|voelt als plastic|rook vreemd|scheurde|"
                 r"(vielen|viel|gaat|ging)[^.]{0,30}(af|kapot|stuk)\b", unless=r"bij aankomst|opende|binnenkwam"),
        ],
        "customer_service": [
            Rule(r"klantenservice[^.]{0,60}(onvriendelijk|bot|niet helpen|niets voor|niemand|nooit|pas na|"
                 r"alleen per|slecht|traag)", negatable=False),
            Rule(r"(onvriendelijk|botte|bot)\b"),
            Rule(r"niemand (kon|wilde) (me )?helpen|geen gehoor|niemand te pakken|standaard antwoord|geen excuses|"
                 r"terug te bellen[^.]{0,30}nooit|beloofde terug te bellen", negatable=False),
        ],
        "returns_refunds": [
            Rule(r"(terugbetaling|geld terug|teruggestort|terug gekregen|geld (nog )?niet terug)[^.]{0,40}"
                 r"(wacht|nog steeds|niet|nog niet|weken|maand)|(wacht|nog steeds|nog niet)[^.]{0,40}"
                 r"(terugbetaling|geld (niet )?terug|teruggestort)|mijn geld niet terug|geld[^.]{0,20}terug[^.]{0,40}"
                 r"(maand later|weken later)", negatable=False),
            Rule(r"(retour|terugsturen|retourneren)\w*[^.]{0,40}(drama|omslachtig|zelf (de )?\w* ?betalen|"
                 r"zelf betalen|kost|label kwam nooit|moeilijk|gedoe|formulier printen)", negatable=False),
            Rule(r"(retour|terugsturen)\w* (zelf )?(moeten )?betalen|de retour zelf betalen", negatable=False),
        ],
        "price": [
            Rule(r"(te|veel te|erg|best|heel) (duur|prijzig)|\bprijzig|voor (deze|die|die hoge) prijs|"
                 r"prijs-?kwaliteit\w* (is )?slecht|niet (de prijs |het geld )?waard|voor de helft|"
                 r"kortingscode werkte (ook )?niet"),
            Rule(r"(verzendkosten|retourkosten)[^.]{0,30}(hoog|absurd|veel)|(€|euro) ?\d+[,.]?\d*[^.]{0,30}"
                 r"(veel|duur)|(kost|kosten) \S+ dat vind ik veel", whole_sentence=True),
        ],
        "wrong_item": [
            Rule(r"(verkeerde|andere|ander) (maat|kleur|artikel|product|model|merk)|verkeerd (product|artikel)|"
                 r"(?<!\d )in plaats van|(zat|kreeg) er maar één|maar één in|dezelfde (linker|rechter)|ontbr|\bmist\b"),
        ],
        "communication": [
            Rule(r"\b(geen|nooit)( enkel| een)? (bericht|reactie|antwoord|bevestiging|track|mail|update|"
                 r"verzendbevestiging|factuur|briefje)", negatable=False),
            Rule(r"niet (gereageerd|beantwoord|laten weten|geïnformeerd|op de hoogte)|onbeantwoord|"
                 r"nooit (beantwoord|gereageerd|laten weten)|niemand heeft (me|mij) laten weten", negatable=False),
            Rule(r"track ?(&|en) ?trace[^.]{0,20}(werkt niet|geen)|zonder (briefje|bericht)|"
                 r"pas na \w+ dagen hoorde|standaard antwoord|alleen per mail|beloofde terug te bellen|"
                 r"zonder (uitleg|bericht)|(antwoordt|reageert|reageren|antwoorden) pas na",
                 negatable=False),
        ],
    },
}


@lru_cache(maxsize=None)
def _compiled(locale: str):
    return [
        (topic, [(re.compile(r.cue), re.compile(r.context) if r.context else None,
                  re.compile(r.unless) if r.unless else None, r.negatable, r.whole_sentence) for r in rules])
        for topic, rules in RULES[locale].items()
    ]


def language(locale: str | None) -> str | None:
    """The rule language for a review locale (`nl_BE` → nl), or None when there are no rules for it."""
    code = (locale or "").replace("-", "_").split("_")[0].lower()
    return code if code in RULES else None


def topics_of(text: str, locale: str | None) -> list[str]:
    """The topics `text` complains about, in TOPICS order; [] for a language without rules."""
    lang = language(locale)
    if lang is None or not text:
        return []
    lowered = " ".join(text.lower().replace("’", "'").split())
    negation = NEGATIONS[lang]
    found = set()
    for sentence in SENTENCE.split(lowered):
        if not sentence.strip():
            continue
        clauses = [c for c in CLAUSE[lang].split(sentence) if c and c.strip()]
        for topic, rules in _compiled(lang):
            if topic in found:
                continue
            for cue, context, unless, negatable, whole in rules:
                if context is not None and not context.search(sentence):
                    continue
                if unless is not None and unless.search(sentence):
                    continue
                scopes = [sentence] if whole else clauses
                if any(_matches(cue, scope, negation if negatable else None) for scope in scopes):
                    found.add(topic)
                    break
    return [t for t in TOPICS if t in found]


def _matches(cue, clause: str, negation) -> bool:
    for match in cue.finditer(clause):
        if negation is None:
            return True
        before = clause[:match.start()].split()[-3:]
        if not any(negation.search(word) for word in before):
            return True
    return False


@lru_cache(maxsize=None)
def rules_version() -> str:
    """A name for this rule set: stored topics found by another one are found again."""
    return hashlib.sha256(open(__file__, "rb").read()).hexdigest()[:16]


def refresh(db, shop_id: int, start: str | None = None, end: str | None = None, *, review_ids=None,
            chunk: int = 2000) -> int:
    """Find and store the topics of the shop's published reviews (created in [start, end), or these ids, if given)
    that have none stored by this rule set; returns how many were found now. Safe to run concurrently."""
    from . import store

    where, params = "", [shop_id, rules_version()]
    if review_ids is not None:
        review_ids = [int(i) for i in review_ids][:chunk]
        where += f" AND r.id IN ({', '.join('?' * len(review_ids))})" if review_ids else " AND 0"
        params += review_ids
    if start is not None:
        where += " AND r.created_at >= ?"
        params.append(start)
    if end is not None:
        where += " AND r.created_at < ?"
        params.append(end)
    done = 0
    while True:
        rows = db.execute(
            "SELECT r.id, r.title, r.body, coalesce(r.locale, s.locale) FROM reviews r JOIN shops s ON s.id = r.shop_id"
            " LEFT JOIN review_topics t ON t.review_id = r.id"
            " WHERE r.shop_id = ? AND r.status = 'published' AND (t.review_id IS NULL OR t.rules != ?)" + where +
            " LIMIT ?", [*params, chunk]).fetchall()
        if not rows:
            return done
        values = [(review_id, rules_version(), " " + " ".join(topics_of(f"{title}. {body}", locale)) + " ")
                  for review_id, title, body, locale in rows]
        with store.write(db):
            db.conn.executemany("INSERT OR REPLACE INTO review_topics (review_id, rules, topics) VALUES (?, ?, ?)",
                                values)
        done += len(rows)
        if len(rows) < chunk:
            return done


def stored_topics(db, review_ids: list[int]) -> dict[int, list[str]]:
    """The stored topics of these reviews (call `refresh` first), in TOPICS order."""
    found: dict[int, list[str]] = {}
    for start in range(0, len(review_ids), 500):
        part = review_ids[start:start + 500]
        for review_id, text in db.execute(
                f"SELECT review_id, topics FROM review_topics WHERE review_id IN ({', '.join('?' * len(part))})", part):
            found[review_id] = text.split()
    return found


def topic_counts(db, shop_id: int, start: str, end: str) -> Counter:
    """How many published reviews created in [start, end) (stored-time text) complain about each topic."""
    refresh(db, shop_id, start, end)
    counts: Counter = Counter()
    for (text,) in db.execute(
            "SELECT t.topics FROM reviews r JOIN review_topics t ON t.review_id = r.id"
            " WHERE r.shop_id = ? AND r.status = 'published' AND r.created_at >= ? AND r.created_at < ?",
            [shop_id, start, end]):
        counts.update(text.split())
    return counts


def labels() -> dict[str, str]:
    """Topic id → label in the current request's language (Flask-Babel catalogs)."""
    from .i18n import gettext as _

    return {
        "delivery_time": _("Delivery time"), "damaged": _("Damaged on arrival"), "packaging": _("Packaging"),
        "size_fit": _("Size and fit"), "quality": _("Quality"), "customer_service": _("Customer service"),
        "returns_refunds": _("Returns and refunds"), "price": _("Price"), "wrong_item": _("Wrong item"),
        "communication": _("Communication"),
    }


def month_bounds(year: int, month: int) -> tuple[str, str]:
    """[start, end) of a calendar month as stored-time text."""
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}-01T00:00:00.000000Z", f"{following[0]:04d}-{following[1]:02d}-01T00:00:00.000000Z"


def trend(db, shop_id: int, year: int, month: int) -> list[dict]:
    """Each topic with complaints this month or last: {"topic", "count", "previous"}, most frequent first."""
    this = topic_counts(db, shop_id, *month_bounds(year, month))
    previous = topic_counts(db, shop_id, *month_bounds(*((year - 1, 12) if month == 1 else (year, month - 1))))
    rows = [{"topic": t, "count": this[t], "previous": previous[t]} for t in TOPICS if this[t] or previous[t]]
    return sorted(rows, key=lambda r: (-r["count"], -r["previous"], TOPICS.index(r["topic"])))
