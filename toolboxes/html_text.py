"""HTML to readable text with the standard library's parser: what a model should read.

Scripts, styles and other invisible parts are dropped; block elements become
line breaks, headings get ``#`` marks, list items ``-``, links keep their
target as ``text (url)``, and ``<pre>`` keeps its layout. Whitespace is
collapsed the way a browser would.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

_HIDDEN = frozenset(
    {"script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "head"}
)
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "dd", "details", "dialog", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hr",
        "html", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tr",
        "ul", "h1", "h2", "h3", "h4", "h5", "h6", "caption", "thead", "tbody", "tfoot",
    }
)  # fmt: skip
_HEADINGS = {f"h{n}": "#" * n for n in range(1, 7)}
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Private-use characters standing for the newlines and spaces of <pre> text while
# the rest is cleaned up.
_PRE_NEWLINE, _PRE_SPACE = "\ue000", "\ue001"


_PARAGRAPHS = frozenset({"p", "pre", "table", "ul", "ol", "dl", "blockquote", "figure", *_HEADINGS})


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title = ""
        self._hidden = 0
        self._pre = 0
        self._in_title = False
        self._links: list[str | None] = []
        self._breaks = 0  # line breaks owed before the next text (a blank line at most)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in _HIDDEN:
            self._hidden += 1
        if self._hidden:
            return
        self._block_edge(tag)
        if tag in _HEADINGS:
            self._emit(_HEADINGS[tag] + " ")
        elif tag == "li":
            self._emit("- ")
        elif tag in ("td", "th"):
            self._emit("| ")
        elif tag == "pre":
            self._pre += 1
        elif tag == "a":
            self._links.append(dict(attrs).get("href"))
        elif tag == "img" and (alt := dict(attrs).get("alt")):
            self._emit(f"[image: {alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
            return
        if self._hidden:
            return
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        elif tag == "a" and self._links:
            href = self._links.pop()
            if href and href.startswith(("http://", "https://", "/")):
                self._emit(f" ({href})")
        elif tag in ("td", "th"):
            self._emit(" ")
        self._block_edge(tag)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._hidden:
            return
        if self._pre:  # shielded from the whitespace clean-up in text()
            self._emit(data.replace("\n", _PRE_NEWLINE).replace(" ", _PRE_SPACE))
        elif data.strip():
            self._emit(_SPACES.sub(" ", data))
        elif self.out and not self._breaks:
            self.out.append(" ")

    def _block_edge(self, tag: str) -> None:
        if tag in _PARAGRAPHS:
            self._breaks = 2
        elif tag in _BLOCKS or tag == "br":
            self._breaks = max(self._breaks, 1)

    def _emit(self, text: str) -> None:
        if self._breaks and self.out:
            self.out.append("\n" * self._breaks)
        self._breaks = 0
        self.out.append(text)

    def text(self) -> str:
        lines = [_SPACES.sub(" ", line).strip() for line in "".join(self.out).split("\n")]
        joined = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
        return joined.replace(_PRE_NEWLINE, "\n").replace(_PRE_SPACE, " ")


def html_to_text(html: str) -> str:
    """The readable text of an HTML document, its title first when it has one."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    body = reader.text()
    title = _SPACES.sub(" ", reader.title).strip()
    if title and not body.startswith(title):
        return f"{title}\n\n{body}" if body else title
    return body
