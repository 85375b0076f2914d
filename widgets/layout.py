"""How tall a rendered widget will be at a given width: the embed snippet reserves that much, so the page
does not move when the widget arrives, and never less, so nothing is cut off or scrolls inside.

`estimate(html, width)` lays out the fragment's HTML with a small block/inline/flex model of the shipped
themes' CSS (the boxes below, keyed by class) and text widths from per-character advances of the
common `system-ui` fallback (DejaVu Sans, measured in Chromium at 100 px; other fonts are within a few
per cent). `heights(html)` gives the estimate for a range of container widths, which the snippet turns
into `@container` min-height rules. It is an estimate: the loader always lets the widget take its real
height (`tests/test_layout_browser.py` measures the difference as layout shift).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser

BASE_FONT = 16.0
LINE_HEIGHT = 1.5

_CHARS = (" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
          "àáâäçèéêëíïñóôöúüßÀÉÖÜ€–—…·✓’“”«»")
_REGULAR = (32, 40, 46, 84, 64, 95, 78, 27, 39, 39, 50, 84, 32, 36, 32, 34, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
            34, 34, 84, 84, 84, 53, 100, 68, 69, 70, 77, 63, 58, 77, 75, 29, 29, 66, 56, 86, 75, 79, 60, 79, 69, 63,
            61, 73, 68, 99, 69, 61, 69, 39, 34, 39, 84, 50, 50, 61, 63, 55, 63, 62, 35, 63, 63, 28, 28, 58, 28, 97,
            63, 61, 63, 63, 41, 52, 39, 63, 59, 82, 59, 59, 52, 64, 34, 64, 84, 61, 61, 61, 61, 55, 62, 62, 62, 62,
            28, 28, 63, 61, 61, 61, 63, 63, 63, 68, 63, 79, 73, 64, 50, 100, 100, 32, 84, 32, 52, 52, 61, 61)
_BOLD = (35, 46, 52, 84, 70, 100, 87, 31, 46, 46, 52, 84, 38, 42, 38, 37, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70,
         40, 40, 84, 84, 84, 58, 100, 77, 76, 73, 83, 68, 68, 82, 84, 37, 37, 77, 64, 100, 84, 85, 73, 85, 77, 72, 68,
         81, 77, 110, 77, 72, 73, 46, 37, 46, 84, 50, 50, 67, 72, 59, 72, 68, 44, 72, 71, 34, 34, 67, 34, 104, 71, 69,
         72, 72, 49, 60, 48, 71, 65, 92, 65, 65, 58, 71, 37, 71, 84, 67, 67, 67, 67, 59, 68, 68, 68, 68, 34, 34, 71,
         69, 69, 69, 71, 71, 72, 77, 68, 85, 81, 70, 50, 100, 100, 38, 84, 38, 66, 66, 65, 65)
ADVANCE = {False: dict(zip(_CHARS, _REGULAR)), True: dict(zip(_CHARS, _BOLD))}
OTHER_ADVANCE = {False: 70, True: 76}  # per 100 px: letters of other scripts, emoji (roughly)

#: Container widths (px) the snippet reserves for; each rule covers up to the next one.
WIDTHS = (0, 280, 320, 340, 360, 380, 400, 440, 480, 520, 560, 600, 640, 720, 800, 880, 960, 1040, 1120, 1200)


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in px of `text` in the model font at `size` px."""
    table, other = ADVANCE[bold], OTHER_ADVANCE[bold]
    return sum(table.get(c, other) for c in text) * size / 100


@dataclass(frozen=True)
class Box:
    """The CSS the model knows about one element (lengths in em of the element's own font, borders in px)."""

    display: str = "inline"  # inline, block, flex-row (wrapping items), flex-column, header, line, pill, none
    font: float = 1.0  # font-size relative to the parent
    bold: bool | None = None
    margin: tuple = (0, 0)  # block start, end
    padding: tuple = (0, 0, 0)  # block start, end, inline (each side)
    border: tuple = (0, 0, 0)  # px: block start, end, inline (each side)
    gap: float = 0.0  # flex column gap (em)
    row_gap: float = 0.0  # flex row gap (em)
    inline_size: float | None = None  # fixed width of an inline-block (em)


UA = {  # the browser's own styles that the widgets keep
    "div": Box("block"), "article": Box("block"), "header": Box("block"), "footer": Box("block"),
    "section": Box("block"), "nav": Box("block"), "li": Box("block"),
    "p": Box("block", margin=(1, 1)), "ul": Box("block", margin=(1, 1), padding=(0, 0, 1.25)),
    "h2": Box("block", 1.5, True, (0.83, 0.83)), "h3": Box("block", 1.17, True, (1, 1)),
    "strong": Box(bold=True), "b": Box(bold=True), "br": Box("br"),
    "style": Box("none"), "script": Box("none"), "template": Box("none"), "meta": Box("none"), "link": Box("none"),
}

#: The default theme's boxes by class (themes/default/theme.css).
DEFAULT = {
    "eerlijk": Box("block", padding=(0.75, 0.75, 0.75), border=(1, 1, 1)),
    "eerlijk-badge": Box("block"),
    "eerlijk-badge-link": Box("pill", padding=(0.4, 0.4, 0.75), border=(1, 1, 1)),
    "eerlijk-heading": Box("block", 1.25, True, (0, 0.75)),
    "eerlijk-stars": Box(inline_size=5),
    "eerlijk-score": Box(bold=True),
    "eerlijk-distribution": Box("block", margin=(0.75, 0.75)),
    "eerlijk-bar-row": Box("line", padding=(0.15, 0.15, 0)),
    "eerlijk-toolbar": Box("flex-row", margin=(0, 0.75), gap=0.75, row_gap=0.75),
    "eerlijk-filters": Box("flex-row", margin=(0, 0), gap=0.4, row_gap=0.4),
    "eerlijk-sorts": Box("flex-row", margin=(0, 0), gap=0.4, row_gap=0.4),
    "eerlijk-pill": Box("pill", padding=(0.2, 0.2, 0.6), border=(1, 1, 1)),
    "eerlijk-review": Box("block", padding=(1, 1, 0), border=(1, 0, 0)),
    "eerlijk-review-header": Box("header", gap=0.75),
    "eerlijk-avatar": Box(font=0.9, inline_size=2.5),
    "eerlijk-review-who": Box("flex-column"),
    "eerlijk-review-byline": Box("flex-row", gap=0.6),
    "eerlijk-review-meta": Box("flex-row", 0.875, gap=0.6),
    "eerlijk-author": Box(bold=True),
    "eerlijk-verified": Box(font=0.875, bold=True),
    "eerlijk-unverified": Box(font=0.875),
    "eerlijk-review-title": Box("block", 1.0, True, (0.75, 0)),
    "eerlijk-review-body": Box("block", margin=(0.25, 0)),
    "eerlijk-review-product": Box("block", 0.875, margin=(0.5, 0)),
    "eerlijk-reply": Box("block", margin=(0.75, 0), padding=(0, 0, 0.9), border=(0, 0, 3)),
    "eerlijk-reply-by": Box("block", 0.875, True, (0.25, 0)),
    "eerlijk-reply-body": Box("block", margin=(0.25, 0)),
    "eerlijk-review-footer": Box("block", 0.8, margin=(0.5, 0)),
    "eerlijk-paging": Box("flex-row", margin=(0.75, 0), gap=0.75, row_gap=0.75),
}

#: Per theme: the boxes that differ from the default theme's (a custom theme uses its parent's).
THEMES = {
    "default": DEFAULT,
    "dark": DEFAULT,
    "minimal": {**DEFAULT,
                "eerlijk": Box("block"),
                "eerlijk-badge-link": Box("pill"),
                "eerlijk-pill": Box("pill", padding=(0.1, 0.1, 0.3))},
}


@dataclass
class Node:
    tag: str
    classes: tuple = ()
    children: list = field(default_factory=list)


class _Tree(HTMLParser):
    VOID = {"br", "meta", "link", "img", "input", "hr", "wbr", "path"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root")
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = tuple((attrs.get("class") or "").split())
        if tag == "a" and (attrs.get("part") or "").split()[:1] in (["filter"], ["sort"]):
            classes += ("eerlijk-pill",)
        node = Node(tag, classes)
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    """The fragment as a tree of Nodes (text as str children)."""
    tree = _Tree()
    tree.feed(html)
    tree.close()
    return tree.root


class Layout:
    """Lays out one fragment for one theme's boxes."""

    def __init__(self, boxes: dict):
        self.boxes = boxes

    def box(self, node: Node) -> Box:
        found = UA.get(node.tag, Box("none") if node.tag == "svg" else Box())
        for name in node.classes:
            if name in self.boxes:
                theme_box = self.boxes[name]
                found = replace(theme_box, bold=theme_box.bold if theme_box.bold is not None else found.bold)
        return found

    # --- inline content: a list of atoms (width, kind) ---------------------------------------

    def atoms(self, node: Node, size: float, bold: bool, out: list) -> list:
        """Words (with the space after them), inline blocks and forced breaks of an inline subtree."""
        for child in node.children:
            if isinstance(child, str):
                for word, space in re.findall(r"(\S+)(\s*)", child):
                    out.append(["word", text_width(word, size, bold), text_width(" ", size, bold) if space else 0.0])
                if child[:1].isspace() and out and out[-1][0] == "word" and not out[-1][2]:
                    out[-1][2] = text_width(" ", size, bold)
                continue
            box = self.box(child)
            if box.display == "none":
                continue
            if box.display == "br":
                out.append(["br", 0.0, 0.0])
                continue
            child_size = size * box.font
            child_bold = bold if box.bold is None else box.bold
            if box.inline_size is not None:
                out.append(["word", box.inline_size * child_size, 0.0])
            else:
                self.atoms(child, child_size, child_bold, out)
        return out

    @staticmethod
    def lines(atoms: list, width: float) -> int:
        """How many lines the atoms take at `width` (greedy; a word wider than a line breaks anywhere)."""
        count, used, started = 1, 0.0, False
        for kind, w, space in atoms:
            if kind == "br":
                count, used, started = count + 1, 0.0, False
                continue
            if started and used + w > width + 0.5:
                count, used = count + 1, 0.0
            if w > width + 0.5 and width > 0:  # overflow-wrap: anywhere
                extra = int(w // width)
                count += extra
                w -= extra * width
            used += w + space
            started = True
        return count if started else 0

    def max_content(self, node: Node, size: float, bold: bool) -> float:
        """The width of a subtree's content on one line."""
        atoms = self.atoms(node, size, bold, [])
        return sum(w + s for _, w, s in atoms) - (atoms[-1][2] if atoms else 0)

    # --- blocks ---------------------------------------------------------------------------

    def layout(self, node: Node, width: float, size: float, bold: bool) -> tuple[float, float, float]:
        """(margin start, height without margins, margin end) of a block-level node at `width`."""
        box = self.box(node)
        size = size * box.font
        bold = bold if box.bold is None else box.bold
        pad_start, pad_end, pad_inline = (p * size for p in box.padding)
        b_start, b_end, b_inline = box.border
        inner = max(1.0, width - 2 * pad_inline - 2 * b_inline)
        m_start, m_end = (m * size for m in box.margin)
        line = LINE_HEIGHT * size
        if box.display == "line":
            return m_start, pad_start + line + pad_end + b_start + b_end, m_end
        if box.display == "pill":
            atoms = self.atoms(node, size, bold, [])
            return m_start, pad_start + pad_end + b_start + b_end + max(1, self.lines(atoms, inner)) * line, m_end
        if box.display == "header":
            height = self.header(node, inner, size, bold, box)
        elif box.display == "flex-row":
            height = self.flex_row(node, inner, size, bold, box.gap * size, box.row_gap * size)
        elif box.display == "flex-column":
            height = sum(self.item_height(c, inner, size, bold) for c in self.elements(node))
        else:
            height, first, last = self.stack(node, inner, size, bold)
            # Margins collapse through a box without padding or border on that side.
            if not pad_start and not b_start:
                m_start, height = max(m_start, first), height - first
            if not pad_end and not b_end:
                m_end, height = max(m_end, last), height - last
        return m_start, pad_start + height + pad_end + b_start + b_end, m_end

    def elements(self, node: Node) -> list:
        return [c for c in node.children if not isinstance(c, str) and self.box(c).display != "none"
                or isinstance(c, str) and c.strip()]

    def stack(self, node: Node, width: float, size: float, bold: bool) -> tuple[float, float, float]:
        """Block children one under another (inline runs become anonymous line boxes).

        Returns (height including the first child's start and last child's end margins, those two margins).
        """
        height, pending, first, run, seen = 0.0, 0.0, None, [], False

        def flush():
            nonlocal height, pending, first, seen
            if run:
                atoms = []
                for item in run:
                    if isinstance(item, str):
                        self.atoms(Node("#text", (), [item]), size, bold, atoms)
                    else:
                        box = self.box(item)
                        if box.inline_size is not None:
                            atoms.append(["word", box.inline_size * size * box.font, 0.0])
                        else:
                            self.atoms(Node("#span", (), [item]), size, bold, atoms)
                n = self.lines(atoms, width)
                if n:
                    if first is None:
                        first = 0.0
                    height += pending + n * LINE_HEIGHT * size
                    pending, seen = 0.0, True
                run.clear()

        for child in node.children:
            if isinstance(child, str) or self.box(child).display in ("inline", "br"):
                if isinstance(child, str) and not child.strip() and not run:
                    continue
                run.append(child)
                continue
            if self.box(child).display == "none":
                continue
            flush()
            m_start, h, m_end = self.layout(child, width, size, bold)
            if first is None:
                first = m_start
                height += m_start
            else:
                height += max(pending, m_start)
            height += h
            pending, seen = m_end, True
        flush()
        return height + pending, first or 0.0, pending

    def item_height(self, node, width: float, size: float, bold: bool) -> float:
        """A flex item's height: its margins stay inside (they never collapse in flex layout)."""
        if isinstance(node, str):
            return self.lines(self.atoms(Node("#text", (), [node]), size, bold, []), width) * LINE_HEIGHT * size
        box = self.box(node)
        if box.display in ("inline", "br"):
            own = size * box.font
            own_bold = bold if box.bold is None else box.bold
            return max(1, self.lines(self.atoms(node, own, own_bold, []), width)) * LINE_HEIGHT * own
        m_start, h, m_end = self.layout(node, width, size, bold)
        return m_start + h + m_end

    def item_width(self, node, size: float, bold: bool) -> float:
        if isinstance(node, str):
            return self.max_content(Node("#text", (), [node.strip()]), size, bold)
        box = self.box(node)
        own, own_bold = size * box.font, bold if box.bold is None else box.bold
        kids = self.elements(node)
        if box.display == "block" and len(kids) == 1 and isinstance(kids[0], Node) and not any(box.padding + box.border):
            return self.item_width(kids[0], own, own_bold)
        if box.display == "flex-row":
            items = self.elements(node)
            return sum(self.item_width(c, own, own_bold) for c in items) + box.gap * own * max(0, len(items) - 1)
        extra = 2 * box.padding[2] * own + 2 * box.border[2]
        if box.inline_size is not None:
            return box.inline_size * own + extra
        return self.max_content(node, own, own_bold) + extra

    def flex_row(self, node: Node, width: float, size: float, bold: bool, gap: float, row_gap: float = 0.0) -> float:
        """A wrapping flex row: items on lines (each at most `width` wide), lines' heights summed."""
        rows, used, row_height, total = 0, 0.0, 0.0, 0.0
        for item in self.elements(node):
            w = min(width, self.item_width(item, size, bold))
            if rows and used + gap + w > width + 0.5:
                total += row_height + row_gap
                used, row_height = 0.0, 0.0
                rows += 1
            elif rows:
                used += gap
            if not rows:
                rows = 1
            used += w
            row_height = max(row_height, self.item_height(item, w, size, bold))
        return total + row_height

    def header(self, node: Node, width: float, size: float, bold: bool, box: Box) -> float:
        """A review header: the avatar beside a column (byline, meta), centred."""
        items = self.elements(node)
        height, used = 0.0, 0.0
        for item in items:
            if isinstance(item, Node) and self.box(item).inline_size is not None:
                item_box = self.box(item)
                side = item_box.inline_size * size * item_box.font
                height = max(height, side)
                used += side + box.gap * size
        for item in items:
            if isinstance(item, Node) and self.box(item).inline_size is None:
                height = max(height, self.item_height(item, max(1.0, width - used), size, bold))
        return height


def _root(tree: Node) -> Node | None:
    for child in tree.children:
        if isinstance(child, Node) and "eerlijk" in child.classes:
            return child
    return None


def estimate(html: str, width: float, themes=("default",)) -> int:
    """The height in px the widget's fragment will take at container width `width` (rounded up)."""
    root = _root(parse(str(html)))
    if root is None:
        return 0
    boxes = next((THEMES[t] for t in themes if t in THEMES), DEFAULT)
    layout = Layout(boxes)
    m_start, height, m_end = layout.layout(root, float(width), BASE_FONT, False)
    return int(height + 0.999)


def heights(html: str, themes=("default",), widths=WIDTHS) -> dict[int, int]:
    """Estimated height for each range of container widths: {from_width: height}, evaluated in the middle
    of each range (the last range at its start + 80 px); equal neighbours are merged."""
    tree = parse(str(html))
    root = _root(tree)
    out: dict[int, int] = {}
    if root is None:
        return out
    boxes = next((THEMES[t] for t in themes if t in THEMES), DEFAULT)
    layout = Layout(boxes)
    previous = None
    for i, low in enumerate(widths):
        high = widths[i + 1] if i + 1 < len(widths) else low + 160
        at = max(240, (low + high) / 2)
        h = int(layout.layout(root, float(at), BASE_FONT, False)[1] + 0.999)
        if h != previous:
            out[low] = h
            previous = h
    return out
