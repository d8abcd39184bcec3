"""Read rendered pages the way a user sees them: table rows, messages, form errors, links.

A small tree over the standard library's HTMLParser (no extra dependency). Tests
use it to assert whole visible outcomes, e.g. `rows(response) == [[...], ...]`.
"""

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []

    @property
    def classes(self):
        return set((self.attrs.get("class") or "").split())

    def text(self):
        parts = []

        def walk(node):
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                elif child.tag == "br":
                    parts.append(" ")
                else:
                    walk(child)

        walk(self)
        return " ".join("".join(parts).split())

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag=None, cls=None, **attrs):
        found = []
        for node in self.iter():
            if tag and node.tag != tag:
                continue
            if cls and cls not in node.classes:
                continue
            if any(node.attrs.get(name.rstrip("_").replace("_", "-")) != value for name, value in attrs.items()):
                continue
            found.append(node)
        return found

    def find(self, tag=None, cls=None, **attrs):
        found = self.find_all(tag, cls, **attrs)
        return found[0] if found else None

    def __repr__(self):
        return f"<{self.tag} {self.attrs}>"


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(response_or_html):
    html = response_or_html if isinstance(response_or_html, str) else response_or_html.content.decode()
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def main(response):
    return parse(response).find("main")


def rows(response):
    """The text of each cell of each body row of the page's first table."""
    table = main(response).find("table")
    return [[cell.text() for cell in tr.find_all() if cell.tag in {"td", "th"}]
            for tr in table.find("tbody").find_all("tr")]


def first_column(response):
    return [row[0] for row in rows(response)]


def column_headers(response):
    table = main(response).find("table")
    return [th.text() for th in table.find("thead").find_all("th")]


def messages(response):
    """The flash messages (alerts) shown at the top of the page."""
    return [node.text() for node in main(response).find_all("div", cls="alert")]


_ERROR_ID = re.compile(r"^error_\d+_id_(.+)$")


def field_errors(response):
    """{field name: [messages shown under it]} as crispy-forms renders them."""
    errors = {}
    for node in parse(response).iter():
        match = _ERROR_ID.match(node.attrs.get("id") or "")
        if match:
            errors.setdefault(match.group(1), []).append(node.text())
    return errors


def heading(response):
    return main(response).find("h1").text()


def links(node):
    """(text, href) of every link inside `node`."""
    return [(a.text(), a.attrs.get("href")) for a in node.find_all("a")]


def select_options(node, name):
    """(value, label) of the <option>s of the select named `name`."""
    select = node.find("select", name=name)
    return [(opt.attrs.get("value"), opt.text()) for opt in select.find_all("option")]


def definitions(node):
    """[(term, description)] of the <dl> inside `node` (the overview of a record)."""
    dl = node.find("dl")
    terms = [n for n in dl.children if not isinstance(n, str) and n.tag in {"dt", "dd"}]
    return [(terms[i].text(), terms[i + 1].text()) for i in range(0, len(terms), 2)]
