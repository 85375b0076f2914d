"""The reply tone check: transparent rules that say what a reply to a review does well and what to change.

`check(text, ...)` is a pure function: no database, no network, no model.
It runs each rule of the checklist that advice on answering reviews agrees
on, in the reply's language (nl, en, de, fr; detected from common words
when not given):

    thanks       thanks the customer
    acknowledge  acknowledges the problem (an empathy phrase, or names what the review said)
    apology      apologises, without a "sorry if you feel..." that puts it on the customer
    offline      offers an offline channel (an e-mail address, a phone number, "call us")
    signature    ends with the writer's name and role
    defensive    no defensive or blaming phrases ("you should have", "not our fault"), no shouting
    removal      does not ask to remove or change the review or its rating
    copy         is not (nearly) the same as another recent reply of the shop
    length       a reasonable length
    placeholder  no leftover placeholders like [e-mail]

`acknowledge`, `apology` and `offline` apply to replies to reviews of three
stars or fewer (or when the rating is unknown). Every finding names its rule,
whether it passed, a message in the interface's language and the phrases
that decided it, so the owner sees why.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

LANGUAGES = ("en", "nl", "de", "fr")
RULES = ("thanks", "acknowledge", "apology", "offline", "signature", "defensive", "removal", "copy", "length",
         "placeholder")
NEGATIVE_UP_TO = 3  # ratings at or below this call for acknowledging, apologising and an offline channel
COPY_THRESHOLD = 0.8
MIN_WORDS_NEGATIVE, MIN_WORDS_POSITIVE, MAX_WORDS = 25, 8, 180

# --- phrases per language (regular expressions, matched case-insensitively on the whole reply) ----

THANKS = {
    "en": [r"\bthanks?\b", r"\bthank you\b", r"\bgrateful\b", r"\bappreciate"],
    "nl": [r"\bbedankt\b", r"\bdank\b", r"\bdankjewel\b", r"\bdankuwel\b", r"\bdankbaar\b", r"\bwaardeer"],
    "de": [r"\bdanke\b", r"\bdank\b", r"\bbedanken\b", r"\bdankbar\b"],
    "fr": [r"\bmerci\b", r"\bremerci"],
}

ACKNOWLEDGE = {
    "en": [r"\bsorry to hear\b", r"\byou(?:'re| are) right\b", r"\bunderstand", r"\bfrustrat", r"\bdisappoint",
           r"\bshould(?:n't| not) have (?:happened|been)\b", r"\bnot what you (?:expected|deserve)",
           r"\bnot (?:ok|okay|acceptable|good enough)\b", r"\bunacceptable\b", r"\bannoying\b", r"\binconvenien",
           r"\bwent wrong\b", r"\bfell short\b", r"\blet you down\b", r"\bwe (?:got|made) (?:it|this) wrong\b"],
    "nl": [r"\bvervelend\b", r"\bbalen\b", r"\bbegrijp", r"\bterecht\b", r"\bgelijk\b", r"\bteleur",
           r"\bhoort niet\b", r"\bniet de bedoeling\b", r"\bmis ?(?:gegaan|ging)\b", r"\bging (?:er )?iets mis\b",
           r"\bniet acceptabel\b", r"\bfrustrerend\b", r"\bjammer\b", r"\bongemak\b", r"\bte lang\b"],
    "de": [r"\bärgerlich\b", r"\bverstehen\b", r"\bverständlich\b", r"\brecht\b", r"\benttäusch",
           r"\bnicht in ordnung\b", r"\bschiefgelaufen\b", r"\bsollte nicht\b", r"\bunannehmlichkeit"],
    "fr": [r"\bcompren", r"\braison\b", r"\bdécev", r"\bdéçue?s?\b", r"\bfrustrant", r"\bdésagréable\b",
           r"\bn'aurait pas dû\b", r"\bpas normal\b", r"\binacceptable\b", r"\bdésagrément"],
}

APOLOGY = {
    "en": [r"\bsorry\b", r"\bapologi[sz]e", r"\bapolog(?:y|ies)\b", r"\bour (?:mistake|fault|error)\b",
           r"\bmy (?:mistake|fault)\b"],
    "nl": [r"\bsorry\b", r"\bexcuses\b", r"\bexcuus\b", r"\bspijt\b", r"\bverontschuldig", r"\bonze fout\b",
           r"\bonze schuld\b"],
    "de": [r"\bentschuldig", r"\btut (?:uns|mir) (?:sehr |wirklich )?leid\b", r"\bbedauern\b", r"\bunser fehler\b"],
    "fr": [r"\bdésolée?s?\b", r"\bexcus", r"\bpardon\b", r"\bregrett", r"\bnotre erreur\b", r"\bnotre faute\b"],
}

# Apologies that put it on the customer's feelings or perception: not an apology.
NON_APOLOGY = {
    "en": [r"\bsorry (?:if|that) you (?:feel|felt|think|thought|believe|were offended|are upset|were upset)",
           r"\bsorry you (?:feel|felt|think|thought)\b", r"\bif you were offended\b",
           r"\bsorry if (?:this|that|it) (?:came across|seemed)\b"],
    "nl": [r"\b(?:sorry|spijt) (?:ons |me |mij )?(?:als|dat) (?:je|u) (?:dat |het )?(?:zo )?(?:voelt|vindt|denkt|ervaart|ervaren)",
           r"\bals (?:je|u) (?:je|zich) gekwetst voel"],
    "de": [r"\bleid, (?:dass|wenn) sie (?:das |es )?(?:so )?(?:empfinden|denken|finden)",
           r"\bfalls sie sich (?:gekränkt|beleidigt)"],
    "fr": [r"\bdésolée?s? (?:si|que) vous (?:pensiez|pensez|ressentiez|ressentez|trouviez|trouvez|le prenez)",
           r"\bsi vous vous êtes sentie?s? "],
}

EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
PHONE = r"(?<![\w/])\+?\d[\d ()\-]{7,}\d\b"
OFFLINE = {
    "en": [r"\b(?:e-?mail|call|phone|ring|contact|message|text|write to|reach) (?:us|me|our)\b",
           r"\bget in touch\b", r"\breach out\b", r"\b(?:we|i)(?:'ll| will| have| are going to)? (?:contact|call|e-?mail|phone|reach out to|get in touch with) you\b",
           r"\bdirect message\b", r"\bdm us\b"],
    "nl": [r"\b(?:mail|bel|app|contacteer|sms) (?:ons|me|mij)\b", r"\bcontact\b", r"\bstuur (?:ons|me|mij)\b",
           r"\b(?:we|ik) (?:bel|mail|app)(?:len|t|en)? (?:je|u)\b", r"\bbereikbaar\b"],
    "de": [r"\b(?:rufen|schreiben|kontaktieren) sie (?:uns|mich)\b", r"\bmelden sie sich\b", r"\bwenden sie sich\b",
           r"\bkontakt", r"\bper e-?mail\b", r"\btelefonisch\b"],
    "fr": [r"\bcontacte[rz]\b", r"\bcontactez-nous\b", r"\bécrivez-nous\b", r"\bappelez-nous\b", r"\bjoindre\b",
           r"\bpar (?:e-?mail|téléphone|courriel)\b", r"\bnous vous (?:contacterons|appellerons|écrirons)\b"],
}

DEFENSIVE = {
    "en": [r"\byou should(?:'ve| have)\b", r"\byou (?:did not|didn't) read\b", r"\bif you had read\b",
           r"\bas (?:clearly )?(?:stated|mentioned|described|explained) (?:in|on) (?:the|our)\b", r"\bclearly (?:states|stated|says|mentioned)\b",
           r"\b(?:it's|it is|that's|that is) (?:your|not our) fault\b", r"\bnot our fault\b", r"\byour (?:own )?fault\b",
           r"\byou failed to\b", r"\bwe did nothing wrong\b", r"\byou(?:'re| are) (?:lying|wrong|mistaken)\b",
           r"\b(?:that|this)(?:'s| is) (?:simply )?not true\b", r"\bnever happened\b", r"\buser error\b",
           r"\byou must have (?:used|washed|misread|made|done|ordered|missed|ignored)\b", r"\b(?:no one|nobody) else (?:has )?(?:complained|had)\b",
           r"\bother customers (?:are|were|have been) (?:happy|satisfied)\b",
           r"\bour (?:policy|terms) (?:clearly )?(?:states?|says?)\b", r"\bas per our (?:policy|terms)\b",
           r"\bread the (?:description|instructions|size chart|terms|label)\b",
           r"\bwe (?:are|were) not responsible\b", r"\bwith all due respect\b", r"\bcalm down\b"],
    "nl": [r"\bhad (?:je|u) maar\b", r"\b(?:je|u) had (?:beter |wel )?(?:moeten|kunnen)\b", r"\bniet onze schuld\b",
           r"\b(?:je|uw) eigen schuld\b", r"\bligt (?:niet )?aan (?:ons|u|jou)\b",
           r"\bzoals (?:duidelijk )?(?:vermeld|aangegeven|beschreven|staat)\b", r"\bstaat (?:toch )?duidelijk\b",
           r"\b(?:niet )?goed gelezen\b", r"\bdat klopt niet\b", r"\bdat is niet waar\b", r"\bonzin\b",
           r"\b(?:andere|overige) klanten (?:zijn|waren) (?:wel |juist )?(?:tevreden|blij)\b",
           r"\bniemand anders (?:klaagt|heeft)\b", r"\bniet verantwoordelijk\b", r"\bvolgens onze voorwaarden\b",
           r"\blees (?:de|onze|eerst) ", r"\b(?:u|je) liegt\b", r"\bgebruikersfout\b"],
    "de": [r"\bsie hätten\b", r"\bihre (?:eigene )?schuld\b", r"\bnicht unsere schuld\b",
           r"\bwie (?:deutlich|klar) (?:angegeben|beschrieben)\b", r"\bdas stimmt nicht\b",
           r"\bandere kunden sind (?:zufrieden|glücklich)\b", r"\bnicht verantwortlich\b", r"\blesen sie (?:die|den|das)\b"],
    "fr": [r"\bvous auriez dû\b", r"\bvotre faute\b", r"\bpas (?:de )?notre faute\b", r"\bcomme (?:clairement )?indiqué\b",
           r"\bc'est faux\b", r"\bd'autres clients sont (?:satisfaits|contents)\b", r"\bpas responsables?\b",
           r"\blisez (?:la|le|les)\b"],
}
SHOUTING = [r"!{2,}", r"\b[A-ZÄÖÜÉÈ]{4,}\b(?:\W+\b[A-ZÄÖÜÉÈ]{2,}\b)+"]

REMOVAL = {
    "en": [r"\b(?:remove|delete|take down|withdraw|retract|edit|change|update|amend|revise) (?:your|the|this) (?:review|comment|post|rating|score)\b",
           r"\b(?:raise|increase|change|revise|reconsider|improve|update) (?:your|the) (?:rating|score|stars)\b",
           r"\bmore stars\b", r"\b(?:\d|five|four) stars instead\b", r"\btake (?:it|this) down\b"],
    "nl": [r"\b(?:review|beoordeling|recensie|score|waardering)\w* (?:\w+ ){0,2}(?:te )?(?:verwijderen|aanpassen|wijzigen|intrekken|bijwerken|aan te passen|weg te halen)\b",
           r"\b(?:verwijder|pas|wijzig|haal) (?:je|uw) (?:review|beoordeling|recensie|score)\b",
           r"\bmeer sterren\b", r"\b(?:hogere|betere) (?:score|beoordeling|waardering)\b"],
    "de": [r"\bbewertung (?:zu )?(?:löschen|entfernen|ändern|anpassen|zurückziehen)\b",
           r"\b(?:löschen|ändern|entfernen) sie (?:ihre|die) bewertung\b", r"\bmehr sterne\b",
           r"\bbessere bewertung\b"],
    "fr": [r"\b(?:supprimer|retirer|modifier|changer|revoir) (?:votre |cet |l')(?:avis|note|commentaire|évaluation)\b",
           r"\bplus d'étoiles\b", r"\bmeilleure note\b"],
}

PLACEHOLDER = [r"\[[^\]\n]{1,40}\]", r"\{[^}\n]{1,40}\}", r"\bXXX+\b", r"<[^>\n]{1,40}>"]

# Common words, to tell the reply's language when it is not given.
COMMON_WORDS = {
    "en": {"the", "and", "you", "your", "we", "our", "is", "are", "to", "of", "for", "with", "this", "that", "thank", "sorry"},
    "nl": {"de", "het", "een", "en", "je", "u", "uw", "we", "wij", "ons", "is", "niet", "dat", "voor", "met", "bedankt", "van"},
    "de": {"der", "die", "das", "und", "sie", "ihre", "wir", "uns", "ist", "nicht", "für", "mit", "danke", "ein", "eine"},
    "fr": {"le", "la", "les", "et", "vous", "votre", "nous", "est", "pas", "pour", "avec", "merci", "un", "une", "des"},
}

STOPWORDS = set().union(*COMMON_WORDS.values()) | {
    "about", "after", "before", "would", "could", "there", "their", "which", "these", "those", "really", "hebben",
    "heeft", "maar", "omdat", "wordt", "worden", "zeer", "heel", "echt", "nicht", "einem", "einen", "wurde", "avait",
    "était", "très", "order", "bestelling", "review", "product", "always", "never", "first", "other",
}

# --- messages: what each rule says (English msgids in the server's gettext catalog) -------------------


def N_(message: str) -> str:
    """Mark a message for extraction (pybabel's N_ keyword); `check` translates it when used."""
    return message


RULE_TEXT = {
    'thanks.title': N_('Thanks the customer'),
    'thanks.pass': N_('Thanks the customer for their review.'),
    'thanks.fail': N_('Start by thanking the customer for taking the time to write.'),
    'acknowledge.title': N_('Acknowledges the problem'),
    'acknowledge.pass': N_('Acknowledges what the customer experienced.'),
    'acknowledge.fail': N_('Say in your own words what went wrong, so the customer sees you read their review.'),
    'apology.title': N_('Apologises without blaming'),
    'apology.pass': N_('Apologises.'),
    'apology.fail': N_('Apologise for what happened ("We\'re sorry the dress shrank").'),
    'apology.blame': N_('"%(phrase)s" puts it on the customer\'s feelings; apologise for what happened instead.'),
    'offline.title': N_('Offers an offline channel'),
    'offline.pass': N_('Offers a way to continue by e-mail or phone.'),
    'offline.fail': N_('Invite the customer to continue by e-mail or phone, and give the address or number.'),
    'signature.title': N_('Signed with name and role'),
    'signature.pass': N_('Ends with your name and role.'),
    'signature.fail': N_('End with your name and role, e.g. "%(example)s".'),
    'signature.no_name': N_('Fill in your name and role: every reply is signed.'),
    'defensive.title': N_('No defensive or blaming phrases'),
    'defensive.pass': N_('Stays friendly: no defensive or blaming phrases.'),
    'defensive.fail': N_('Leave out "%(phrase)s": it sounds defensive or blames the customer.'),
    'defensive.shouting': N_('Leave out "%(phrase)s": capitals and exclamation marks read as shouting.'),
    'removal.title': N_('Does not ask to change the review'),
    'removal.pass': N_('Does not ask the customer to remove or change their review.'),
    'removal.fail': N_('Don\'t ask the customer to remove or change their review ("%(phrase)s"): solve the problem; they may update it themselves.'),
    'copy.title': N_('Personal, not copied'),
    'copy.pass': N_('Written for this review, not copied from another reply.'),
    'copy.fail': N_('This reply is %(percent)s%% the same as one you posted before. Make it personal: use what this customer wrote.'),
    'length.title': N_('Reasonable length'),
    'length.pass': N_('A good length (%(words)s words).'),
    'length.short': N_('Only %(words)s words: a few more sentences help (%(minimum)s or more).'),
    'length.long': N_('%(words)s words is long: keep it under %(maximum)s; say the rest by e-mail or phone.'),
    'placeholder.title': N_('No placeholders left'),
    'placeholder.pass': N_('No placeholders left.'),
    'placeholder.fail': N_('Replace "%(phrase)s" with the real details.'),
}


def _plain(message: str, **values) -> str:
    return message % values if values else message


def _fold(text: str) -> str:
    """Lower-case, typographic apostrophes made straight, for matching."""
    return unicodedata.normalize("NFC", text).replace("\u2019", "'").replace("\u2018", "'").lower()


def _find(patterns: list[str], text: str, flags: int = 0) -> list[str]:
    found = []
    for pattern in patterns:
        for match in re.finditer(pattern, text, flags):
            phrase = match.group(0).strip()
            if phrase and phrase not in found:
                found.append(phrase)
    return found


def detect_language(text: str, default: str = "en") -> str:
    """The language of `text` among nl, en, de, fr, by counting common words (default when none match)."""
    words = re.findall(r"[a-zà-ÿ']+", _fold(text))
    scores = {lang: sum(w in common for w in words) for lang, common in COMMON_WORDS.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == default))
    return best if scores[best] else default


def content_words(text: str) -> set[str]:
    """Significant words of a text (5+ letters, no common words), cut to 6 letters so word forms meet."""
    return {w[:6] for w in re.findall(r"[a-zà-ÿ]+", _fold(text)) if len(w) >= 5 and w not in STOPWORDS}


def similarity(a: str, b: str) -> float:
    """How alike two replies are, 0..1, on their words (case and spacing ignored)."""
    left, right = " ".join(re.findall(r"\w+", _fold(a))), " ".join(re.findall(r"\w+", _fold(b)))
    if not left or not right:
        return 0.0
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    if matcher.real_quick_ratio() < COPY_THRESHOLD or matcher.quick_ratio() < COPY_THRESHOLD:
        return matcher.quick_ratio()  # an upper bound, already below the threshold: skip the full comparison
    return matcher.ratio()


def _signed(text: str, author: str, role: str) -> bool:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    tail = _fold(" ".join(lines[-3:]))
    first_name = _fold(author.split()[0]) if author.split() else ""
    has_name = bool(first_name) and re.search(r"(?<!\w)" + re.escape(first_name) + r"(?!\w)", tail) is not None
    has_role = not role.strip() or _fold(role.strip()) in tail
    return has_name and has_role


def check(text: str, *, author: str = "", role: str = "", rating: int | None = None, language: str | None = None,
          review_text: str = "", recent_replies=(), gettext=None) -> dict:
    """Run every rule on a reply; returns {"language", "findings": [...], "problems": n}.

    Each finding: {"rule", "title", "passed", "message", "phrases"}. Rules that do not apply (apologies
    for a 5-star review) are left out. `recent_replies` are the shop's other recent reply texts.
    `gettext(msgid, **values)` translates the messages (Flask-Babel's `gettext`; default: English).
    """
    translate = gettext or _plain
    text = text or ""
    lang = language if language in LANGUAGES else detect_language(text)
    folded = _fold(text)
    negative = rating is None or rating <= NEGATIVE_UP_TO
    findings = []

    def add(rule: str, passed: bool, key: str, phrases=(), **values):
        findings.append({"rule": rule, "title": translate(RULE_TEXT[f"{rule}.title"]), "passed": passed,
                         "message": translate(RULE_TEXT[key], **values), "phrases": list(phrases)})

    found = _find(THANKS[lang], folded)
    add("thanks", bool(found), "thanks.pass" if found else "thanks.fail", found)

    if negative:
        phrases = _find(ACKNOWLEDGE[lang], folded)
        shared = sorted(content_words(text) & content_words(review_text)) if review_text else []
        add("acknowledge", bool(phrases or shared), "acknowledge.pass" if phrases or shared else "acknowledge.fail",
            phrases + shared)

        blame = _find(NON_APOLOGY[lang], folded)
        sorry = _find(APOLOGY[lang], folded)
        if blame:
            add("apology", False, "apology.blame", blame, phrase=blame[0])
        else:
            add("apology", bool(sorry), "apology.pass" if sorry else "apology.fail", sorry)

        channels = _find([EMAIL, PHONE], text) + _find(OFFLINE[lang], folded)
        add("offline", bool(channels), "offline.pass" if channels else "offline.fail", channels)

    if not author.strip():
        add("signature", False, "signature.no_name")
    else:
        signed = _signed(text, author, role)
        example = f"{author.strip()}, {role.strip()}" if role.strip() else author.strip()
        add("signature", signed, "signature.pass" if signed else "signature.fail", [], example=example)

    defensive = _find(DEFENSIVE[lang], folded)
    shouting = _find(SHOUTING, text)
    if defensive:
        add("defensive", False, "defensive.fail", defensive + shouting, phrase=defensive[0])
    elif shouting:
        add("defensive", False, "defensive.shouting", shouting, phrase=shouting[0])
    else:
        add("defensive", True, "defensive.pass")

    removal = _find(REMOVAL[lang], folded)
    add("removal", not removal, "removal.fail" if removal else "removal.pass", removal,
        phrase=removal[0] if removal else "")

    best = max((similarity(text, other) for other in recent_replies if other), default=0.0)
    copied = bool(text.strip()) and best >= COPY_THRESHOLD
    add("copy", not copied, "copy.fail" if copied else "copy.pass", percent=round(best * 100))

    words = len(re.findall(r"\w+", text))
    minimum = MIN_WORDS_NEGATIVE if negative else MIN_WORDS_POSITIVE
    if words < minimum:
        add("length", False, "length.short", words=words, minimum=minimum)
    elif words > MAX_WORDS:
        add("length", False, "length.long", words=words, maximum=MAX_WORDS)
    else:
        add("length", True, "length.pass", words=words)

    holes = _find(PLACEHOLDER, text)
    add("placeholder", not holes, "placeholder.fail" if holes else "placeholder.pass", holes,
        phrase=holes[0] if holes else "")

    return {"language": lang, "findings": findings, "problems": sum(not f["passed"] for f in findings)}
