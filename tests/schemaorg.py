"""Test helper: extract structured data from HTML, expand it offline, check it against schema.org and Google.

Reusable by any test:

    from tests import schemaorg            # or: import schemaorg (tests/ is on sys.path)
    nodes = schemaorg.extract(html)        # {"json-ld": [Node...], "microdata": [Node...]}
    assert schemaorg.problems(nodes["json-ld"]) == []
    assert schemaorg.google_review_problems(nodes["json-ld"]) == []

How it works:

1. extruct (a third-party parser, as a crawler would use) pulls JSON-LD and
   microdata out of the HTML.
2. pyld expands each item with schema.org's own JSON-LD context
   (../shared/data/schemaorg/schemaorgcontext.jsonld), served by a local
   document loader: no network. Expansion turns every key into a full IRI, so
   a misspelt property or a stray key shows up as an unknown schema.org term.
3. Every type and property is checked against the schema.org 30.0 vocabulary
   (schemaorg-current-https.jsonld): the type exists; the property exists and
   its domainIncludes covers the node's type or a supertype (rdfs:subClassOf);
   nested nodes' types and typed literals fit rangeIncludes.

The vocabulary uses https://schema.org/ IRIs, the context http://schema.org/:
both are normalised to the short name ("Product", "reviewBody").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

SCHEMAORG_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "schemaorg"
if not SCHEMAORG_DIR.is_dir():  # a checkout elsewhere: next to the repository, as DESIGN.md says
    SCHEMAORG_DIR = Path("/work/shared/data/schemaorg")
VOCABULARY_FILE = SCHEMAORG_DIR / "schemaorg-current-https.jsonld"
CONTEXT_FILE = SCHEMAORG_DIR / "schemaorgcontext.jsonld"

_PREFIXES = ("https://schema.org/", "http://schema.org/", "schema:")
CONTEXT_URLS = {
    "https://schema.org", "https://schema.org/", "http://schema.org", "http://schema.org/",
    "https://schema.org/docs/jsonldcontext.jsonld", "http://schema.org/docs/jsonldcontext.jsonld",
    "https://schema.org/docs/jsonldcontext.json", "http://schema.org/docs/jsonldcontext.json",
}

# Data types and how a literal of each looks (for strings, as microdata gives every value).
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_INTEGER = re.compile(r"^-?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def short(iri: str) -> str | None:
    """"http://schema.org/Product", "https://schema.org/Product" or "schema:Product" -> "Product"; else None."""
    for prefix in _PREFIXES:
        if iri.startswith(prefix):
            return iri[len(prefix):]
    return None


def _ids(value) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [short(item["@id"]) for item in items if short(item["@id"])]


class Vocabulary:
    """The schema.org vocabulary: classes with their supertypes, properties with domains and ranges."""

    def __init__(self, path: Path = VOCABULARY_FILE):
        graph = json.loads(path.read_text(encoding="utf-8"))["@graph"]
        self.classes: dict[str, set[str]] = {}  # class -> direct superclasses
        self.properties: dict[str, tuple[set[str], set[str]]] = {}  # property -> (domain, range)
        self.datatypes: set[str] = set()
        for node in graph:
            name = short(node["@id"])
            if name is None:
                continue
            types = node["@type"] if isinstance(node["@type"], list) else [node["@type"]]
            if "rdfs:Class" in types or "schema:DataType" in types:
                self.classes[name] = set(_ids(node.get("rdfs:subClassOf")))
                if "schema:DataType" in types:
                    self.datatypes.add(name)
            if "rdf:Property" in types:
                self.properties[name] = (set(_ids(node.get("schema:domainIncludes"))),
                                         set(_ids(node.get("schema:rangeIncludes"))))
        # Subtypes of data types (URL < Text, Integer < Number, ...) are data types too.
        for name in self.classes:
            if self.supertypes(name) & {"DataType"} or self.supertypes(name) & self.datatypes - {name}:
                self.datatypes.add(name)

    @lru_cache(maxsize=None)
    def supertypes(self, name: str) -> frozenset[str]:
        """`name` and every class it is a subclass of, transitively."""
        seen, todo = set(), [name]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            todo.extend(self.classes.get(current, ()))
        return frozenset(seen)

    def is_a(self, name: str, candidates) -> bool:
        """True if `name` is one of `candidates` or a subclass of one."""
        return bool(self.supertypes(name) & set(candidates))


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The vocabulary, parsed once per test session."""
    return Vocabulary()


@lru_cache(maxsize=1)
def _context() -> dict:
    return json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))


def document_loader(url, options=None):
    """pyld document loader that serves schema.org's context from disk and refuses everything else."""
    from pyld.jsonld import JsonLdError

    if url.rstrip("/") in {u.rstrip("/") for u in CONTEXT_URLS}:
        return {"contextUrl": None, "documentUrl": url, "document": _context(), "contentType": "application/ld+json"}
    raise JsonLdError(f"offline document loader: no local copy of {url}", "jsonld.LoadDocumentError",
                      code="loading document failed")


def expand(item: dict) -> list:
    """Expand one JSON-LD (or extruct uniform microdata) item with the local schema.org context."""
    from pyld import jsonld

    return jsonld.expand(item, {"documentLoader": document_loader})


@dataclass
class Literal:
    """A literal value: the value and its schema.org data type if the context gave one ("Date")."""

    value: object
    datatype: str | None = None


@dataclass
class Node:
    """A node: short type names, @id and properties (short name -> list of Node or Literal)."""

    types: list[str]
    id: str | None = None
    props: dict[str, list] = field(default_factory=dict)
    unknown_keys: list[str] = field(default_factory=list)  # keys outside schema.org after expansion

    def get(self, name: str):
        """The first value of property `name` (a Node, or a literal's plain value), or None."""
        values = self.props.get(name) or []
        if not values:
            return None
        return values[0].value if isinstance(values[0], Literal) else values[0]

    def all(self, name: str) -> list:
        """Every value of property `name` (Nodes, or literals' plain values)."""
        return [v.value if isinstance(v, Literal) else v for v in self.props.get(name) or []]


def _node(obj: dict) -> Node:
    types = obj.get("@type", [])
    node = Node(types=[short(t) or t for t in types], id=obj.get("@id"))
    for key, values in obj.items():
        if key.startswith("@"):
            continue
        name = short(key)
        if name is None:
            node.unknown_keys.append(key)
            continue
        out = []
        for value in values:
            if "@value" in value:
                datatype = value.get("@type")
                out.append(Literal(value["@value"], short(datatype) if datatype else None))
            elif "@list" in value:
                out.extend(_node(v) if "@value" not in v else Literal(v["@value"]) for v in value["@list"])
            else:
                out.append(_node(value))
        node.props[name] = out
    return node


def nodes_of(items: list[dict]) -> list[Node]:
    """Expanded top-level Nodes of JSON-LD / uniform microdata items."""
    out = []
    for item in items:
        for obj in expand(item):
            out.append(_node(obj))
    return out


def extract(html: str, base_url: str = "") -> dict:
    """Structured data in `html` as extruct finds it: {"json-ld": [Node], "microdata": [Node], "raw": {...}}."""
    import extruct

    raw = extruct.extract(html, base_url=base_url or None, syntaxes=["json-ld", "microdata"], uniform=True)
    return {"json-ld": nodes_of(raw["json-ld"]), "microdata": nodes_of(raw["microdata"]), "raw": raw}


def walk(nodes):
    """Every node, depth first, with its path ("Product.review[0].author")."""
    def visit(node, path):
        yield path, node
        for name, values in node.props.items():
            for i, value in enumerate(values):
                if isinstance(value, Node):
                    yield from visit(value, f"{path}.{name}[{i}]")
    for i, node in enumerate(nodes):
        yield from visit(node, f"{'/'.join(node.types) or 'node'}#{i}")


def _literal_fits(literal: Literal, ranges: set[str], vocab: Vocabulary) -> bool:
    """Whether a literal can be a value of a property with these ranges."""
    data_ranges = {r for r in ranges if r in vocab.datatypes}
    if literal.datatype:  # typed by the context, e.g. datePublished -> Date
        if literal.datatype not in vocab.classes:
            return False
        ok_type = any(vocab.is_a(literal.datatype, [r]) or vocab.is_a(r, [literal.datatype]) for r in data_ranges)
        return ok_type and _looks_like(literal.datatype, literal.value, vocab)
    value = literal.value
    if isinstance(value, bool):
        return any(vocab.is_a(r, ["Boolean"]) for r in data_ranges)
    if isinstance(value, (int, float)):
        return any(vocab.is_a(r, ["Number", "Text"]) for r in data_ranges)
    if not data_ranges:
        return False  # a plain string where only things (nodes) are expected
    return any(_looks_like(r, value, vocab) for r in data_ranges)


def _looks_like(datatype: str, value, vocab: Vocabulary) -> bool:
    """Whether a literal's lexical form suits `datatype` (Date: ISO 8601, Number: dot decimal, ...)."""
    text = str(value)
    if vocab.is_a(datatype, ["Date"]):
        return bool(_DATE.match(text)) and _parses(date.fromisoformat, text)
    if vocab.is_a(datatype, ["DateTime"]):
        return bool(_DATETIME.match(text) or _DATE.match(text))
    if vocab.is_a(datatype, ["Integer"]):
        return bool(_INTEGER.match(text))
    if vocab.is_a(datatype, ["Number"]):
        return bool(_NUMBER.match(text))
    if vocab.is_a(datatype, ["Boolean"]):
        return text in ("True", "False", "true", "false", "https://schema.org/True", "https://schema.org/False")
    return True  # Text, URL, ...


def _parses(fn, text) -> bool:
    try:
        fn(text)
    except ValueError:
        return False
    return True


def problems(nodes: list[Node], vocab: Vocabulary | None = None) -> list[str]:
    """Everything in `nodes` the schema.org vocabulary does not allow; [] when all is valid."""
    vocab = vocab or vocabulary()
    out = []
    for path, node in walk(nodes):
        if not node.types and node.props:
            out.append(f"{path}: a node with properties but no @type")
        for type_ in node.types:
            if type_ not in vocab.classes or type_ in vocab.datatypes:
                out.append(f"{path}: @type {type_!r} is not a schema.org type")
        for key in node.unknown_keys:
            out.append(f"{path}: {key!r} is not a schema.org property")
        known_types = [t for t in node.types if t in vocab.classes]
        for name, values in node.props.items():
            if name not in vocab.properties:
                out.append(f"{path}: {name!r} is not a schema.org property")
                continue
            domain, ranges = vocab.properties[name]
            if known_types and not any(vocab.is_a(t, domain) for t in known_types):
                out.append(f"{path}: {name!r} is not a property of {'/'.join(known_types)} (domain: {sorted(domain)})")
            for i, value in enumerate(values):
                where = f"{path}.{name}[{i}]"
                if isinstance(value, Literal):
                    if not _literal_fits(value, ranges, vocab):
                        out.append(f"{where}: literal {value.value!r} does not fit range {sorted(ranges)}")
                elif value.types:
                    if not any(vocab.is_a(t, ranges) for t in value.types if t in vocab.classes):
                        out.append(f"{where}: a {'/'.join(value.types)} does not fit range {sorted(ranges)}")
                elif value.props:
                    pass  # reported as an untyped node when walked
                else:  # a bare IRI reference: fine for URL ranges and for things
                    if not (ranges - vocab.datatypes) and not any(vocab.is_a(r, ["URL"]) for r in ranges):
                        out.append(f"{where}: IRI {value.id!r} where range is {sorted(ranges)}")
    return out


# --- Google's review snippet rules ---------------------------------------------------------------
# https://developers.google.com/search/docs/appearance/structured-data/review-snippet

RATED_TYPES = ("Product",)  # what we may put ratings on; Organization only with the shop setting
SELF_SERVING = ("Organization", "LocalBusiness")


def google_review_problems(nodes: list[Node], *, organization_rating: bool = False) -> list[str]:
    """Google's review-snippet rules, as they apply to what our widgets emit; [] when all are met."""
    vocab = vocabulary()
    out = []
    for path, node in walk(nodes):
        rated = "aggregateRating" in node.props or "review" in node.props
        if any(vocab.is_a(t, SELF_SERVING) for t in node.types) and rated and not organization_rating:
            out.append(f"{path}: rating on the shop's own Organization (self-serving; off unless the shop turns it on)")
        if "Product" in node.types and not node.get("name"):
            out.append(f"{path}: Product without name")
        if "Product" in node.types and not rated and not node.props.get("offers"):
            out.append(f"{path}: Product without review, aggregateRating or offers")
        for aggregate in node.all("aggregateRating"):
            if not isinstance(aggregate, Node):
                out.append(f"{path}.aggregateRating: not a node")
                continue
            value, count = aggregate.get("ratingValue"), aggregate.get("reviewCount") or aggregate.get("ratingCount")
            if value is None or not _NUMBER.match(str(value)):
                out.append(f"{path}.aggregateRating: ratingValue {value!r} missing or not a dot-decimal number")
            if count is None or not _INTEGER.match(str(count)) or int(str(count)) < 1:
                out.append(f"{path}.aggregateRating: reviewCount {count!r} missing or not a positive whole number")
            out += _scale_problems(f"{path}.aggregateRating", aggregate)
        if "Review" in node.types:
            author = node.get("author")
            if not isinstance(author, Node) or not ({"Person", "Organization"} & set(author.types)):
                out.append(f"{path}: Review author missing or not a Person/Organization")
            elif not author.get("name") or len(str(author.get("name"))) >= 100:
                out.append(f"{path}: Review author name missing or 100 characters or longer")
            rating = node.get("reviewRating")
            if not isinstance(rating, Node) or rating.get("ratingValue") is None:
                out.append(f"{path}: Review without reviewRating.ratingValue")
            else:
                out += _scale_problems(f"{path}.reviewRating", rating)
            if node.get("datePublished") is not None and not _DATE.match(str(node.get("datePublished"))[:10]):
                out.append(f"{path}: datePublished is not ISO 8601")
        if "Comment" in node.types:
            if "reviewRating" in node.props or "aggregateRating" in node.props:
                out.append(f"{path}: a Comment (the shop's reply) carries a rating")
            if not node.get("text"):
                out.append(f"{path}: Comment without text")
    return out


def _scale_problems(path: str, rating: Node) -> list[str]:
    out = []
    best, worst, value = rating.get("bestRating"), rating.get("worstRating"), rating.get("ratingValue")
    if str(best) != "5" or str(worst) != "1":
        out.append(f"{path}: bestRating/worstRating are {best!r}/{worst!r}, not 5/1")
    try:
        if not 1 <= float(str(value)) <= 5:
            out.append(f"{path}: ratingValue {value!r} outside 1-5")
    except ValueError:
        pass
    return out


def find(nodes: list[Node], type_: str) -> list[Node]:
    """Every node (nested ones too) of `type_`."""
    return [node for _, node in walk(nodes) if type_ in node.types]


def plain(node) -> object:
    """A Node as plain dicts/lists/values, to compare JSON-LD with microdata (strings for every literal)."""
    if isinstance(node, Literal):
        return str(node.value)
    if not isinstance(node, Node):
        return node
    out = {"@type": sorted(node.types)}
    if node.id:
        out["@id"] = node.id
    for name, values in sorted(node.props.items()):
        items = [plain(v) for v in values]
        if name in ("reviewBody", "text", "name"):
            items = [" ".join(str(i).split()) if isinstance(i, str) else i for i in items]  # <br> vs newline
        if name in ("ratingValue",):
            items = [str(float(i)) if isinstance(i, str) else i for i in items]
        out[name] = items
    return out
