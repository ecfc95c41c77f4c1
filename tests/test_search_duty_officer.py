"""Search as a duty officer types it in a snowstorm, on the demo region (issue 17)."""

import pytest

from directory.core.extensions import db
from directory.core.models import ContactPoint, Role
from directory.lookup.search import search
from directory.operations.demo import load_demo
from tests.conftest import TODAY


def _name(hit) -> str:
    entry = hit.entry
    if isinstance(entry, Role):
        return f"{entry.short_name or entry.name} {entry.actor.name}"
    if isinstance(entry, ContactPoint):
        return f"{entry.label} ({entry.value})"
    return entry.name


# query, what must come first (rank 1) or in the top 3, and that entry's name
# as _name() writes it ("TiB *": any entry whose name starts "TiB ").
# Everyday words, abbreviations, compounds, typos, mixed case and
# diacritics, several words.
CASES = [
    ("plog", 3, "Handens Snöröjning AB (demo)"),
    ("plogning", 3, "Handens Snöröjning AB (demo)"),
    ("plogbil", 3, "Jordbro Maskin & Väg AB (demo)"),
    ("halka", 3, "Handens Snöröjning AB (demo)"),
    ("halkbekämpning", 3, "Handens Snöröjning AB (demo)"),
    ("röjning", 1, "Handens Snöröjning AB (demo)"),
    ("snö", 1, "Handens Snöröjning AB (demo)"),
    ("brand", 3, "Storstockholms brandförsvar"),
    ("brandförsvar", 3, "Storstockholms brandförsvar"),
    ("förbund", 3, "Södertörns brandförsvarsförbund"),
    ("jour", 3, "TiB *"),  # any municipality's TiB
    ("jourhavande", 3, "TiB *"),
    ("jourhavande haninge", 1, "TiB Haninge kommun"),
    ("jour haninge", 1, "TiB Haninge kommun"),
    ("beredskap haninge", 1, "TiB Haninge kommun"),
    ("tjänsteman i beredskap haninge", 1, "TiB Haninge kommun"),
    ("lst", 1, "Länsstyrelsen Stockholm"),
    ("LST tib", 1, "TiB Länsstyrelsen Stockholm"),
    ("länsstyrelsen", 1, "Länsstyrelsen Stockholm"),
    ("lansstyrelsen", 1, "Länsstyrelsen Stockholm"),
    ("hanninge tib", 1, "TiB Haninge kommun"),
    ("tib hanninge", 1, "TiB Haninge kommun"),
    ("haninge", 3, "TiB Haninge kommun"),
    ("haninge", 1, "Haninge kommun"),
    ("HANINGE", 1, "Haninge kommun"),
    ("Haninge TiB", 1, "TiB Haninge kommun"),
    ("tib haninge", 1, "TiB Haninge kommun"),
    ("tib trafikverket", 1, "TL Trafikverket"),
    ("trv", 1, "Trafikverket"),
    ("trafikverket", 3, "TL Trafikverket"),
    ("trafikverk", 1, "Trafikverket"),
    ("trafikverkat", 1, "Trafikverket"),
    ("vb polisen", 1, "VB Polismyndigheten"),
    ("vakthavande befäl polisen", 1, "VB Polismyndigheten"),
    ("polis", 1, "Polismyndigheten"),
    ("sos", 1, "SOS Alarm"),
    ("sos vb", 1, "VB SOS Alarm"),
    ("rtib", 1, "RTiB Region Stockholm"),
    ("regional tjänsteman i beredskap", 1, "RTiB Region Stockholm"),
    ("kustbevakningen", 1, "Kustbevakningen"),
    ("kustbevaknigen", 1, "Kustbevakningen"),
    ("försvarsmakten vb", 1, "VB Försvarsmakten"),
    ("forsvarsmakten", 1, "Försvarsmakten"),
    ("ssbf", 1, "Storstockholms brandförsvar"),
    ("rcb södertörn", 1, "RCB Södertörns brandförsvarsförbund"),
    ("frg", 1, "FRG Haninge"),
    ("frivilliga", 1, "FRG Haninge"),
    ("buss", 1, "Södertörns Buss AB (demo)"),
    ("ledningsplats", 3, "TiB Haninge kommun"),
    ("nynäshamn tib", 1, "TiB Nynäshamns kommun"),
    ("nynashamn", 1, "Nynäshamns kommun"),
]


@pytest.fixture
def demo(app):
    load_demo(TODAY)
    db.session.commit()


def test_what_a_duty_officer_types_finds_the_entry_meant(demo):
    wrong = []
    for query, within, expected in CASES:
        names = [_name(hit) for hit in search(query)]
        top = names[:within]
        if expected.endswith("*"):
            found = any(name.startswith(expected[:-1]) for name in top)
        else:
            found = expected in top
        if not found:
            wrong.append(f"{query!r}: {expected!r} not in top {within}: {names[:5]}")
    assert not wrong, "\n".join(wrong)
    assert len(CASES) >= 40
