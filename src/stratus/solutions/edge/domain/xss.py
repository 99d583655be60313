"""Cross-site scripting detection: an HTML tag scanner plus script-context patterns.

Like libinjection's XSS detector (the idea, not the code), the input is read as HTML would be
by a browser: after entity decoding and with the control characters browsers ignore removed,
a small scanner finds tags (``<name ...>``, also unterminated) and their attributes. It flags:

- tags that run or load code by themselves (``script``, ``iframe``, ``object``, ``svg``,
  ``base``, ``link``, ``meta``, ``style``, ...);
- any tag with an event-handler attribute (``onerror=``, ``onload=`` ...), or with an
  attribute value that is a script URL (``javascript:``, ``vbscript:``, ``data:text/html``)
  or CSS that runs code (``expression(``, ``-moz-binding``, ``behavior:``);
- known HTML elements whose attributes point to another site (``<a href="http://...">``,
  ``<img src=//host/x>``): injected markup that loads or links foreign content. Relative
  links in markup (``<a href="/path">``) are left alone, as some sites accept rich text.

Without a tag, input can still break out of an attribute or a script string the application
wrote it into, so it also flags an event handler after a quote or space
(``" onmouseover=...``), a script URL, and a quote followed by a JavaScript sink
(``';alert(1)//``, ``document.cookie``).
"""

# ruff: noqa: SIM102 - one nested `if` per rule keeps the rule table readable
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from stratus.solutions.edge.domain.transforms import html_entity_decode

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INVISIBLE_IN_SCHEME = re.compile(r"[\s\x00-\x20]+")
_TAG = re.compile(r"<\s*(/?)\s*([a-z!?][a-z0-9:_-]*)([^<>]*)(>?)", re.IGNORECASE)
_EVENTS = (
    r"on(?:load|error|mouse\w*|click|dblclick|key\w+|focus\w*|blur|change|submit|reset|select\w*"
    r"|abort|before\w+|after\w+|drag\w*|drop|input|invalid|scroll|wheel|toggle|pointer\w+"
    r"|touch\w+|animation\w+|transition\w+|message|hashchange|popstate|resize|unload|page\w+"
    r"|copy|cut|paste|contextmenu|show|start|finish|begin|end|repeat|readystatechange|play\w*"
    r"|pause|ended|seek\w*|volumechange|waiting|canplay\w*|durationchange|emptied|loaded\w+"
    r"|loadstart|progress|ratechange|stalled|suspend|timeupdate|search|storage|online|offline"
    r"|form\w+|propertychange|filterchange|help|move\w*|activate|deactivate|bounce|cell\w+"
    r"|data\w+|errorupdate|layoutcomplete|losecapture|row\w+|stop|print|zoom|fullscreen\w*"
    r"|auxclick|beforeprint|cuechange|close|cancel|open|wheel|pointer\w*)"
)
_HANDLER = re.compile(rf"(?:^|[\s\"'`/;>]){_EVENTS}\s*=", re.IGNORECASE)
_ANY_HANDLER = re.compile(
    r"[\s\"'`/](?:on[a-z]{2,}|formaction|srcdoc|xlink:href|xmlns(?::[a-z]+)?|xml:base)\s*=",
    re.IGNORECASE,
)
_REMOTE_URL = re.compile(r"=\s*[\"']?\s*(?:[a-z]+:)?//", re.IGNORECASE)
_SCRIPT_URL = re.compile(
    r"(?:java|vb|live|ecma|j|mocha)script:|data:\s*(?:text/html|image/svg|application/x?html|"
    r"text/javascript)|expression\s*\(|-moz-binding|behavior\s*:|@import\s*(?:url|[\"'])",
    re.IGNORECASE,
)
_JS_SINK = re.compile(
    r"(?:\b(?:alert|prompt|confirm|eval|settimeout|setinterval|fromcharcode|execscript)"
    r"\s*(?:\(|`)|\bdocument\s*\.\s*(?:cookie|location|write|domain)|"
    r"\bwindow\s*\.\s*(?:location|open)|\blocation\s*\.\s*href\s*=|\bstring\s*\.\s*fromcharcode)",
    re.IGNORECASE,
)
_DANGEROUS_TAGS = frozenset(
    [
        "script",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "base",
        "link",
        "meta",
        "style",
        "xml",
        "import",
        "isindex",
        "vmlframe",
        "xss",
        "layer",
        "ilayer",
        "bgsound",
        "template",
        "portal",
        "animate",
        "set",
        "handler",
        "listener",
        "xmp",
        "plaintext",
        "noscript",
        "noembed",
    ]
)
_HTML_ELEMENTS = frozenset(
    [
        "a",
        "abbr",
        "address",
        "area",
        "article",
        "aside",
        "audio",
        "b",
        "bdi",
        "bdo",
        "blink",
        "blockquote",
        "body",
        "br",
        "button",
        "canvas",
        "caption",
        "center",
        "code",
        "col",
        "colgroup",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "em",
        "fieldset",
        "figure",
        "font",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "header",
        "hr",
        "html",
        "i",
        "img",
        "image",
        "input",
        "ins",
        "keygen",
        "label",
        "legend",
        "li",
        "main",
        "map",
        "mark",
        "marquee",
        "menu",
        "menuitem",
        "meter",
        "nav",
        "ol",
        "optgroup",
        "option",
        "output",
        "p",
        "param",
        "picture",
        "pre",
        "progress",
        "q",
        "s",
        "section",
        "select",
        "source",
        "span",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "textarea",
        "tfoot",
        "th",
        "thead",
        "time",
        "title",
        "tr",
        "track",
        "u",
        "ul",
        "var",
        "video",
    ]
)


@dataclass(frozen=True, slots=True)
class XssFinding:
    """Why an input reads as cross-site scripting: the rule and the evidence."""

    rule: str
    evidence: str


def normalise(text: str) -> str:
    """What a browser would act on: entities decoded (twice), ignored control chars removed."""
    nfkc = unicodedata.normalize("NFKC", text) if not text.isascii() else text
    once = html_entity_decode(nfkc)
    # unescaping is a no-op on its own result when it changed nothing: skip the second pass
    twice = html_entity_decode(once) if "&" in once and once != nfkc else once
    return _CONTROL.sub("", twice)


# Every rule needs one of these; plain ASCII text without any is not XSS (a cheap first test).
_NEEDED = re.compile(
    r"[<>:(`&\\]|on[a-z]+\s*=|expression|import|-moz|behavior|document|window|location",
    re.IGNORECASE,
)


@lru_cache(maxsize=8192)
def detect(text: str) -> XssFinding | None:
    """The first XSS rule that fires, or ``None`` (memoised: a pure function of the input)."""
    if not text or len(text) < 3 or (text.isascii() and not _NEEDED.search(text)):
        return None
    value = normalise(text)
    lowered = value.lower()
    if "<" in value:
        for match in _TAG.finditer(value):
            closing, name, attrs, end = match.groups()
            name = name.lower()
            if name in _DANGEROUS_TAGS and not closing:
                return XssFinding("dangerous-tag", f"<{name}")
            if name.startswith(("?", "!doctype")) or name == "!entity":
                if "<!entity" in lowered or "<?xml" in lowered or "<?import" in lowered:
                    return XssFinding("markup-declaration", f"<{name}")
            if closing:
                continue
            if _HANDLER.search(" " + attrs) or _ANY_HANDLER.search(" " + attrs):
                return XssFinding("event-handler", f"<{name} on...")
            squeezed = _INVISIBLE_IN_SCHEME.sub("", attrs)
            if _SCRIPT_URL.search(squeezed):
                return XssFinding("script-url-in-tag", f"<{name}")
            if name in _HTML_ELEMENTS and end and _REMOTE_URL.search(attrs):
                return XssFinding("html-injection", f"<{name} ...=")
    if _HANDLER.search(lowered) and re.search(r"[\"'`\s/]" + _EVENTS + r"\s*=", lowered):
        return XssFinding("attribute-breakout", "event handler")
    # every _SCRIPT_URL branch needs one of ":(-@", every _JS_SINK branch one of "(`."
    if ":" in lowered or "(" in lowered or "-" in lowered or "@" in lowered:
        squeezed = _INVISIBLE_IN_SCHEME.sub("", lowered)
        url = _SCRIPT_URL.search(squeezed)
        if url:
            return XssFinding("script-url", url.group(0))
    if "(" in lowered or "`" in lowered or "." in lowered:
        sink = _JS_SINK.search(lowered)
        if sink:
            return XssFinding("javascript-sink", sink.group(0))
    return None


def is_xss(text: str) -> bool:
    """True when :func:`detect` finds cross-site scripting."""
    return detect(text) is not None
