"""A check of digest HTML against what Gmail, Apple Mail and Outlook can show.

The deny lists below come from caniemail.com: every HTML element, attribute,
CSS property, value, unit, at-rule and selector it marks unsupported (or
only partly supported, where we can do without) in Gmail (web, iOS,
Android) or Apple Mail, plus what breaks the table layout in Outlook for
Windows (flex, grid, positioning).  They are conservative on purpose: when
support is partial, the feature is out.  ``docs/digests.md`` explains each
group; ``tests/digests/test_compat.py`` runs the check on the digest of
every sample language, and ``distributor preview`` reports what it finds in
a newsroom's own templates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import html as lxml_html  # type: ignore[import-untyped]

#: elements Gmail or Apple Mail drop or do not render
UNSUPPORTED_ELEMENTS = frozenset(
    {
        "script", "noscript", "iframe", "object", "embed", "applet", "form", "input",
        "select", "textarea", "button", "svg", "math", "video", "audio", "source",
        "track", "picture", "canvas", "dialog", "details", "summary", "template",
        "slot", "base", "frame", "frameset", "marquee", "blink",
    }
)  # fmt: skip
#: attributes Gmail strips or ignores
UNSUPPORTED_ATTRIBUTES = frozenset(
    {"srcset", "sizes", "loading", "onclick", "onload", "onerror", "onmouseover", "hidden"}
)
#: CSS properties unsupported in Gmail (all or some of its apps) or Apple Mail
UNSUPPORTED_PROPERTIES = frozenset(
    {
        "position", "top", "right", "bottom", "left", "inset", "z-index", "grid",
        "grid-template", "grid-template-columns", "grid-template-rows", "grid-template-areas",
        "grid-area", "grid-column", "grid-row", "grid-gap", "gap", "row-gap", "column-gap",
        "flex", "flex-direction", "flex-wrap", "flex-flow", "flex-grow", "flex-shrink",
        "flex-basis", "order", "justify-content", "align-items", "align-content", "align-self",
        "place-items", "place-content", "columns", "column-count", "column-width",
        "object-fit", "object-position", "aspect-ratio", "clip-path", "mask", "filter",
        "backdrop-filter", "mix-blend-mode", "background-blend-mode", "animation",
        "transition", "transform", "box-shadow", "text-shadow", "content", "counter-reset",
        "counter-increment", "resize", "caret-color", "scroll-behavior", "writing-mode",
        "color-scheme", "accent-color", "background-image", "background-attachment",
        "background-clip", "list-style-image", "cursor", "pointer-events", "user-select",
        "visibility",
    }
)  # fmt: skip
#: display values that break table layout in Outlook or are unsupported in Gmail
UNSUPPORTED_DISPLAY = frozenset({"flex", "inline-flex", "grid", "inline-grid", "contents"})
#: functions and units in values
UNSUPPORTED_VALUE = re.compile(
    r"\b(?:var|calc|min|max|clamp|env|attr|url|linear-gradient|radial-gradient|conic-gradient)\("
    r"|\d(?:rem|vh|vw|vmin|vmax|ch|dvh|svh|lvh)\b",
    re.IGNORECASE,
)
#: at-rules Gmail drops (often with the whole <style> block)
UNSUPPORTED_AT_RULES = re.compile(
    r"@(?:import|font-face|supports|keyframes|layer|container|property|namespace|page)\b"
    r"|prefers-color-scheme|prefers-reduced-motion|\bhover\s*:\s*hover",
    re.IGNORECASE,
)
#: selectors Gmail does not support: id, attribute, universal, sibling and child
#: combinators, structural pseudo-classes and pseudo-elements
UNSUPPORTED_SELECTOR = re.compile(
    r"#[A-Za-z_-]|\[|\*|~|\+|>|::|:(?:not|is|where|has|nth-|first-|last-|only-|root|empty|before|after)",
    re.IGNORECASE,
)
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Finding:
    """One feature that some client will not show."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def check_declarations(declarations: str, where: str) -> list[Finding]:
    """Findings for a list of CSS declarations (``a: b; c: d``)."""
    found = []
    for decl in declarations.split(";"):
        prop, sep, value = decl.partition(":")
        prop = prop.strip().lower()
        if not sep or not prop:
            continue
        value = value.strip().lower()
        if prop.startswith("mso-"):
            continue  # Outlook's own properties, ignored by everyone else
        if prop in UNSUPPORTED_PROPERTIES:
            found.append(Finding(where, f"CSS property {prop!r}"))
        if prop == "display" and value.replace("!important", "").strip() in UNSUPPORTED_DISPLAY:
            found.append(Finding(where, f"display: {value}"))
        if UNSUPPORTED_VALUE.search(value):
            found.append(Finding(where, f"CSS value {prop}: {value}"))
    return found


def check_stylesheet(css: str) -> list[Finding]:
    """Findings for the text of a ``<style>`` block (media queries included)."""
    css = _COMMENT.sub("", css)
    found = [
        Finding("<style>", f"at-rule {m.group(0)!r}") for m in UNSUPPORTED_AT_RULES.finditer(css)
    ]
    for block in re.finditer(r"([^{}]*)\{([^{}]*)\}", css):
        selector, body = block.group(1).strip(), block.group(2)
        if selector.startswith("@"):
            continue
        selector = re.sub(r"@media[^{]*$", "", selector).strip()
        if UNSUPPORTED_SELECTOR.search(selector):
            found.append(Finding("<style>", f"selector {selector!r}"))
        found += check_declarations(body, f"<style> {selector}")
    return found


def check_email_html(markup: str) -> list[Finding]:
    """Every feature of ``markup`` that Gmail, Apple Mail or Outlook would not show."""
    doc = lxml_html.document_fromstring(markup)
    found: list[Finding] = []
    for el in doc.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        if not tag:
            continue  # comments, including Outlook's conditional ones
        if tag in UNSUPPORTED_ELEMENTS:
            found.append(Finding(f"<{tag}>", "element"))
        if tag == "link" and "stylesheet" in (el.get("rel") or ""):
            found.append(Finding("<link>", "external stylesheet"))
        if tag == "meta" and (el.get("name") or "").lower() in (
            "color-scheme",
            "supported-color-schemes",
        ):
            found.append(Finding("<meta>", f"meta {el.get('name')}"))
        for attr in el.attrib:
            if attr.lower() in UNSUPPORTED_ATTRIBUTES:
                found.append(Finding(f"<{tag}>", f"attribute {attr}"))
        if tag == "img":
            src = (el.get("src") or "").lower().split("?")[0]
            if src.endswith(".svg"):
                found.append(Finding("<img>", f"SVG image {el.get('src')}"))
            for needed in ("width", "height", "alt"):
                if el.get(needed) is None:
                    found.append(Finding("<img>", f"no {needed} attribute ({el.get('src')})"))
        style = el.get("style")
        if style:
            found += check_declarations(style, f"<{tag} style>")
        if tag == "style":
            found += check_stylesheet(el.text or "")
    return found
