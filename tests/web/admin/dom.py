"""A small HTML tree for asserting on rendered pages (the standard library has a parser, not a DOM).

Enough to find elements by tag and attributes the way the DOM contract names them
(``find_all("tr", data_redemption_id=True)``) and read their text. Misnested markup
is closed the forgiving way; the browser tests check real-browser parsing.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None = None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Node | str] = []

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    def __getitem__(self, name: str) -> str:
        value = self.attrs[name]
        return "" if value is None else value

    def has_class(self, name: str) -> bool:
        return name in (self.attrs.get("class") or "").split()

    @property
    def text(self) -> str:
        """The text content, whitespace collapsed."""
        parts: list[str] = []

        def walk(node: Node) -> None:
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                else:
                    walk(child)

        walk(self)
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def descendants(self) -> list[Node]:
        out: list[Node] = []
        for child in self.children:
            if isinstance(child, Node):
                out.append(child)
                out.extend(child.descendants())
        return out

    def find_all(self, tag: str | None = None, *, class_: str | None = None, **attrs: str | bool) -> list[Node]:
        """Descendants with this tag, class and attributes (``data_x`` means ``data-x``; True means present)."""
        wanted = {name.replace("_", "-"): value for name, value in attrs.items()}
        found = []
        for node in self.descendants():
            if tag is not None and node.tag != tag:
                continue
            if class_ is not None and not node.has_class(class_):
                continue
            if all(
                (name in node.attrs) if value is True else node.attrs.get(name) == value
                for name, value in wanted.items()
            ):
                found.append(node)
        return found

    def find(self, tag: str | None = None, *, class_: str | None = None, **attrs: str | bool) -> Node | None:
        found = self.find_all(tag, class_=class_, **attrs)
        return found[0] if found else None

    def one(self, tag: str | None = None, *, class_: str | None = None, **attrs: str | bool) -> Node:
        found = self.find_all(tag, class_=class_, **attrs)
        assert len(found) == 1, f"expected one {tag or '*'} {class_ or ''} {attrs}, found {len(found)}"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs), self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root
