"""Text helpers: search keys, slugs and the Swedish sort order.

Search is case- and diacritic-insensitive ("asa oberg" finds "Åsa Öberg"), so
every searchable row stores a folded copy of its text; the same folding is
applied to the query. Sorting follows the Swedish alphabet, where Å, Ä and Ö
come after Z, which a plain code-point sort gets wrong for Ä and Å.
"""

import re
import unicodedata
from functools import lru_cache

_NON_WORD = re.compile(r"[^0-9a-z]+")
_SLUG_FOLD = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "ü": "u"})


@lru_cache(maxsize=65536)  # pure; the board's place filter folds every actor's names
def fold(text: str | None) -> str:
    """Lower-case text with diacritics removed and whitespace collapsed."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", stripped).split())


def search_key(*parts: str | None) -> str:
    """The folded text a row is found by: its parts joined by spaces."""
    return " ".join(p for p in (fold(part) for part in parts) if p)


def slugify(name: str) -> str:
    """`Länsstyrelsen Stockholm` -> `lansstyrelsen-stockholm` (å/ä->a, ö->o)."""
    lowered = name.strip().lower().translate(_SLUG_FOLD)
    return fold(lowered).replace(" ", "-")


# Swedish alphabet order: a-z, then å, ä, ö. Letters like é or ü sort as their
# base letter, as in Swedish dictionaries.
_SWEDISH_TAIL = {"å": "{", "ä": "|", "ö": "}", "æ": "|", "ø": "}"}


@lru_cache(maxsize=65536)  # pure; the board orders every duty role by its names
def swedish_sort_key(text: str | None) -> str:
    """A key that sorts strings in Swedish alphabetical order."""
    out = []
    for char in (text or "").casefold():
        if char in _SWEDISH_TAIL:
            out.append(_SWEDISH_TAIL[char])
            continue
        base = unicodedata.normalize("NFKD", char)[:1]
        out.append(base)
    return "".join(out)


# Characters no entry may hold: C0 and C1 control characters (a NUL byte
# breaks PostgreSQL and a back-up restored there), and the bidirectional
# embedding, override and isolate controls, which make text display in an
# order other than the one stored ("Trojan source"). Tab, line feed and
# carriage return are allowed in multi-line text only.
# As regular-expression escapes, so the API's description can say the same.
UNSAFE_IN_TEXT = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
UNSAFE_IN_LINE = UNSAFE_IN_TEXT + r"\t\n\r"
_UNSAFE_IN_LINE = re.compile(f"[{UNSAFE_IN_LINE}]")
_UNSAFE_IN_TEXT = re.compile(f"[{UNSAFE_IN_TEXT}]")


def unsafe_character(text: str | None, *, multiline: bool = False) -> str | None:
    """The first character that may not be stored, as `U+0000`; None if all is well."""
    if not text:
        return None
    match = (_UNSAFE_IN_TEXT if multiline else _UNSAFE_IN_LINE).search(text)
    return f"U+{ord(match.group()):04X}" if match else None


# --- CSV cells --------------------------------------------------------------------

# A line feed first too: some spreadsheets skip it and run what follows.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(value) -> str:
    """A cell no spreadsheet runs as a formula: a leading `'` where one could start."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# --- Long words on a narrow screen ------------------------------------------

# Swedish names are long compounds ("Samhällsbyggnadsförvaltningen", 29
# letters): deep in a call tree on a phone such a word is wider than its box,
# and the browser would cut it anywhere ("Beredskapsansvari / g"). Names get
# break opportunities at Swedish hyphenation points instead (LibreOffice's
# dictionary through pyphen), as soft hyphens: a hyphen shows only where a
# line breaks.
LONG_WORD = 12
_hyphenator = None


def _hyphenate_sv():
    global _hyphenator
    if _hyphenator is None:
        import pyphen

        _hyphenator = pyphen.Pyphen(lang="sv_SE", left=4, right=4)
    return _hyphenator


SOFT_HYPHEN = "\u00ad"


def breakable(text: str | None) -> str:
    """`text` with soft hyphens at the hyphenation points of its long words.

    Browsers, screen readers and find-in-page read the word whole; a soft
    hyphen shows only where the line breaks. Jinja escapes the result as any
    other text.
    """
    if not text:
        return ""
    return "".join(
        _hyphenate_sv().inserted(piece, hyphen=SOFT_HYPHEN)
        if len(piece) >= LONG_WORD and piece.isalpha() else piece
        for piece in re.split(r"(\s+)", str(text))
    )
