"""The demo region's data: actors, roles, persons, rotations, the scenario, the
call trees, the collaboration patterns and the demo users of Samverkan
Stockholmsregionen, all fictitious; `demo` loads them.

Every phone number is drawn from the range PTS reserves for fiction
(070-174 06 05 to 070-174 06 99, `FICTION_SUFFIXES`), so no demo entry can
ever ring a real phone.
"""

from datetime import time

from directory.core.models import (
    ActorKind,
    Mode,
    PathMode,
    Phase,
    RotationKind,
    UserRole,
)

DEMO_NOTE = "DEMO – fiktiva uppgifter"
ACTOR_NOTES = (
    f"{DEMO_NOTE}. Namn, personer och nummer är påhittade; telefonnumren ligger "
    "i PTS nummerserie för fiktion (070-174 06 05 – 070-174 06 99)."
)
PERSON_NOTES = f"{DEMO_NOTE}: fiktiv person."

# --- The actors ---------------------------------------------------------------

MUNICIPALITIES = (
    "Botkyrka", "Danderyd", "Ekerö", "Haninge", "Huddinge", "Järfälla", "Lidingö",
    "Nacka", "Norrtälje", "Nykvarn", "Nynäshamn", "Salem", "Sigtuna", "Sollentuna",
    "Solna", "Stockholm", "Sundbyberg", "Södertälje", "Tyresö", "Täby",
    "Upplands-Bro", "Upplands Väsby", "Vallentuna", "Vaxholm", "Värmdö", "Österåker",
)  # fmt: skip


# The names the municipalities use for themselves: some are cities ("stad"),
# and most take a genitive -s before "kommun".
MUNICIPALITY_NAMES = {
    "Danderyd": "Danderyds kommun", "Lidingö": "Lidingö stad",
    "Nykvarn": "Nykvarns kommun", "Nynäshamn": "Nynäshamns kommun",
    "Salem": "Salems kommun", "Solna": "Solna stad", "Stockholm": "Stockholms stad",
    "Sundbyberg": "Sundbybergs stad", "Vaxholm": "Vaxholms stad",
    "Österåker": "Österåkers kommun",
}  # fmt: skip


def municipality_name(town: str) -> str:
    """`Haninge` -> `Haninge kommun`, `Solna` -> `Solna stad`."""
    return MUNICIPALITY_NAMES.get(town, f"{town} kommun")


MUNICIPAL_ROLE = ("Tjänsteman i beredskap", "TiB")

# name, short name, kind, duty-officer role, its short name
REGIONAL_ACTORS = (
    ("Länsstyrelsen Stockholm", "Länsstyrelsen", ActorKind.COUNTY_BOARD,
     "Tjänsteman i beredskap", "TiB"),
    ("Polismyndigheten", "Polisen", ActorKind.POLICE, "Vakthavande befäl", "VB"),
    ("Försvarsmakten", "FM", ActorKind.ARMED_FORCES, "Vakthavande befäl", "VB"),
    ("Trafikverket", "TRV", ActorKind.AGENCY, "Trafikledning", "TL"),
    ("Region Stockholm", "Regionen", ActorKind.REGION,
     "Regional tjänsteman i beredskap", "RTiB"),
    ("Kustbevakningen", "KBV", ActorKind.AGENCY, "Vakthavande befäl", "VB"),
    ("Stockholms Hamnar", "Hamnarna", ActorKind.COMPANY, "Vakthavande", ""),
    ("SOS Alarm", "SOS", ActorKind.EMERGENCY_CENTRE, "Vakthavande befäl", "VB"),
    ("Storstockholms brandförsvar", "SSBF", ActorKind.RESCUE_SERVICE,
     "Regional räddningschef i beredskap", "RCB"),
    ("Södertörns brandförsvarsförbund", "SBFF", ActorKind.RESCUE_SERVICE,
     "Räddningschef i beredskap", "RCB"),
    ("Brandkåren Attunda", "Attunda", ActorKind.RESCUE_SERVICE, "Inre befäl", "IB"),
)  # fmt: skip

HANINGE = "Haninge kommun"
BUS_COMPANY = "Södertörns Buss AB (demo)"
PLOUGH_CONTRACTORS = ("Handens Snöröjning AB (demo)", "Jordbro Maskin & Väg AB (demo)")
FRG_HANINGE = "FRG Haninge"
LOCAL_POLICE = "Lokalpolisområde Haninge/Nynäshamn"
ADMINISTRATION = "Haninge kommun – Samhällsbyggnadsförvaltningen"

# name, short name, kind, parent, duty-officer role, its short name
LOCAL_ACTORS = (
    (ADMINISTRATION, "Samhällsbyggnad", ActorKind.MUNICIPAL_ADMINISTRATION, HANINGE,
     "Beredskapsansvarig", ""),
    ("Haninge kommun – Socialförvaltningen", "Socialförvaltningen",
     ActorKind.MUNICIPAL_ADMINISTRATION, HANINGE, "Beredskapsansvarig", ""),
    ("Haninge kommun – Utbildningsförvaltningen", "Utbildningsförvaltningen",
     ActorKind.MUNICIPAL_ADMINISTRATION, HANINGE, "Beredskapsansvarig", ""),
    (BUS_COMPANY, "Södertörns Buss", ActorKind.COMPANY, None, "Vakthavande", ""),
    (PLOUGH_CONTRACTORS[0], "Handens Snöröjning", ActorKind.COMPANY, None,
     "Arbetsledare", ""),
    (PLOUGH_CONTRACTORS[1], "Jordbro Maskin", ActorKind.COMPANY, None, "Arbetsledare", ""),
    (FRG_HANINGE, "FRG", ActorKind.VOLUNTEER, None, "Kontaktperson", ""),
    (LOCAL_POLICE, "LPO Haninge/Nynäshamn", ActorKind.POLICE, "Polismyndigheten",
     "Vakthavande befäl", "VB"),
)  # fmt: skip

# Search words editors keep: what a duty officer types for these actors.
ACTOR_KEYWORDS = {
    PLOUGH_CONTRACTORS[0]: "plog, plogning, plogbil, snöröjning, halka, halkbekämpning, "
    "sandning, vinterväghållning",
    PLOUGH_CONTRACTORS[1]: "plog, plogning, plogbil, snöröjning, halka, halkbekämpning, "
    "sandning, vinterväghållning, grävmaskin",
    BUS_COMPANY: "buss, kollektivtrafik, evakuering",
    FRG_HANINGE: "frivilliga, frivilliga resursgruppen, volontärer",
}
# ...and for their duty-officer roles, by actor name.
ROLE_KEYWORDS = {
    "Trafikverket": "TiB, tjänsteman i beredskap, jour, väg, vägtrafik, trafikstörning",
    HANINGE: "ledningsplats, krisledning, kommunal beredskap",
    "Storstockholms brandförsvar": "räddningstjänst, räddningschef",
    "Södertörns brandförsvarsförbund": "räddningstjänst, räddningschef",
}
# Words the region uses for one thing; coordinators keep them in the app.
SYNONYMS = (
    "TiB, tjänsteman i beredskap, jour, jourhavande, beredskap",
    "VB, vakthavande befäl, vakthavande",
    "RTiB, regional tjänsteman i beredskap",
    "RCB, räddningschef i beredskap",
    "LST, Länsstyrelsen",
    "TRV, Trafikverket",
    "SOS, SOS Alarm, larmcentral",
    "SSBF, Storstockholms brandförsvar",
    "SBFF, Södertörns brandförsvarsförbund",
    "FM, Försvarsmakten",
    "KBV, Kustbevakningen",
    "Polisen, Polismyndigheten, polis",
    "Regionen, Region Stockholm, sjukvård",
    "FRG, frivilliga resursgruppen",
    "Växel, switchboard, vx",
    "Snöröjning, plogning, plog",
    "Halka, halkbekämpning, sandning, saltning",
)

# Left unreviewed, so the demo shows what a stale entry looks like.
NEVER_REVIEWED = frozenset(PLOUGH_CONTRACTORS)

# The key actors get the full PACE set on their duty-officer role: P the 24/7
# mobile, A the switchboard, C a Rakel talk group, E a physical meeting point;
# in activated mode also their staff's number, and a functional mailbox.
# actor, staff (activated mode), mailbox, Rakel talk group, meeting point
KEY_ACTORS = (
    (HANINGE, "Krisledningsstab", "tib@haninge.demo.example", "RSTH HAN-1",
     "Kommunhuset, Rudsjöterrassen 2, Handen"),
    ("Länsstyrelsen Stockholm", "Länsstyrelsens stab", "tib@lansstyrelsen.demo.example",
     "RSTH LST-1", "Länsstyrelsen, Exempelgatan 10, Stockholm"),
    ("Region Stockholm", "Regional särskild sjukvårdsledning",
     "rtib@regionstockholm.demo.example", "RSTH RS-1",
     "Regionens ledningsplats, Exempelgatan 20, Stockholm"),
    ("Polismyndigheten", "Polisens stab", "vb@polisen.demo.example", "RSTH POL-1",
     "Polishuset, Exempelgatan 30, Stockholm"),
    ("Trafikverket", "Trafikverkets krisledning", "trafikledning@trafikverket.demo.example",
     "RSTH TRV-1", "Trafikledningscentralen, Exempelvägen 40, Solna"),
    ("SOS Alarm", "SOS Alarms krisledning", "vb@sosalarm.demo.example", "RSTH SOS-1",
     "SOS-centralen, Exempelgatan 50, Stockholm"),
    ("Storstockholms brandförsvar", "Ledningsstab räddningsregionen",
     "rcb@ssbf.demo.example", "RSTH SSBF-1", "Ledningscentralen, Exempelgatan 60, Stockholm"),
    ("Södertörns brandförsvarsförbund", "Förbundets ledningsstab", "rcb@sbff.demo.example",
     "RSTH SBFF-1", "Brandstationen, Exempelvägen 70, Haninge"),
)  # fmt: skip

# Actors with a switchboard of their own: the regional actors that are not
# municipalities, and the municipalities in the call tree (the alternate path
# when their duty officer does not answer).
SWITCHBOARD_MUNICIPALITIES = ("Botkyrka", "Haninge", "Huddinge", "Nynäshamn", "Tyresö")

# actor: (person, title); rotations take their members from here by name.
PERSONS = {
    HANINGE: (
        ("Åsa Öberg", "Tjänsteman i beredskap"),
        ("Mikael Bergström", "Tjänsteman i beredskap"),
        ("Karin Sjöström", "Tjänsteman i beredskap"),
        ("Jonas Lindahl", "Tjänsteman i beredskap"),
        ("Lena Håkansson", "Beredskapssamordnare"),
    ),
    "Länsstyrelsen Stockholm": (
        ("Per Åkesson", "Tjänsteman i beredskap"),
        ("Helena Wästberg", "Tjänsteman i beredskap"),
        ("Olof Nyström", "Tjänsteman i beredskap"),
    ),
    "Region Stockholm": (
        ("Annika Törnqvist", "Regional tjänsteman i beredskap"),
        ("Fredrik Lundgren", "Regional tjänsteman i beredskap"),
    ),
    "Polismyndigheten": (
        ("Thomas Ekström", "Vakthavande befäl"),
        ("Sara Öhrn", "Vakthavande befäl"),
    ),
    "Trafikverket": (
        ("Magnus Dahl", "Trafikledare"),
        ("Elin Sandberg", "Trafikledare"),
    ),
    "SOS Alarm": (
        ("Ulrika Björk", "Vakthavande befäl"),
        ("Niklas Hägg", "Vakthavande befäl"),
    ),
    "Storstockholms brandförsvar": (
        ("Göran Ståhl", "Regional räddningschef i beredskap"),
        ("Linnea Rydén", "Regional räddningschef i beredskap"),
    ),
    "Södertörns brandförsvarsförbund": (
        ("Henrik Åberg", "Räddningschef i beredskap"),
        ("Camilla Nord", "Räddningschef i beredskap"),
    ),
}

# actor (its duty-officer role), rotation name, kind, days per turn, handover, members
ROTATIONS = (
    (HANINGE, "Veckorotation TiB", RotationKind.WEEKLY, 7, time(8, 0),
     ("Åsa Öberg", "Mikael Bergström", "Karin Sjöström", "Jonas Lindahl")),
    ("Länsstyrelsen Stockholm", "Veckorotation TiB", RotationKind.WEEKLY, 7, time(8, 0),
     ("Per Åkesson", "Helena Wästberg", "Olof Nyström")),
    ("Region Stockholm", "Veckorotation RTiB", RotationKind.WEEKLY, 7, time(8, 0),
     ("Annika Törnqvist", "Fredrik Lundgren")),
    ("Polismyndigheten", "Dygnsrotation VB", RotationKind.DAILY, 1, time(7, 0),
     ("Thomas Ekström", "Sara Öhrn")),
    ("Trafikverket", "Dygnsrotation trafikledning", RotationKind.DAILY, 1, time(7, 0),
     ("Magnus Dahl", "Elin Sandberg")),
    ("SOS Alarm", "Dygnsrotation VB", RotationKind.DAILY, 1, time(7, 0),
     ("Ulrika Björk", "Niklas Hägg")),
    ("Storstockholms brandförsvar", "Veckorotation RCB", RotationKind.WEEKLY, 7,
     time(8, 0), ("Göran Ståhl", "Linnea Rydén")),
    ("Södertörns brandförsvarsförbund", "Veckorotation RCB", RotationKind.WEEKLY, 7,
     time(8, 0), ("Henrik Åberg", "Camilla Nord")),
)  # fmt: skip

# Every other duty-officer role is staffed too: two fictitious officers per
# actor take weekly turns and carry the role's phone (no numbers of their own).
STANDBY_FIRST_NAMES = (
    "Anna", "Erik", "Maria", "Lars", "Eva", "Karl", "Kristina", "Anders", "Ingrid",
    "Johan", "Birgitta", "Per", "Sofia", "Nils", "Emma", "Oskar", "Ida", "Gustav",
)  # fmt: skip
STANDBY_LAST_NAMES = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
    "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson",
    "Bengtsson", "Jönsson", "Lindberg", "Jakobsson", "Magnusson", "Lindström",
)  # fmt: skip

# Haninge's coordinator covers one day next week (Wednesday, from the handover).
OVERRIDE = (HANINGE, "Lena Håkansson", 2, "Täcker upp för {replaced} (utbildningsdag)")
# One extra shift at the county board: Saturday next week, 24 hours.
SHIFT = (
    "Länsstyrelsen Stockholm", "Helena Wästberg", 5,
    "Extrapass: förstärkning inför väntat snöoväder",
)  # fmt: skip

# --- The scenario ---------------------------------------------------------------

SCENARIO_SLUG = "trafikstorningar-sno-halka"
SCENARIO = {
    "name": "Trafikstörningar p.g.a. snö/halka",
    "facts": (
        "SMHI varnar för kraftigt snöfall och halka i Stockholms län. Väg- och "
        "kollektivtrafiken störs: köer på E4/E20 och väg 73, inställda bussavgångar "
        "och förseningar i pendeltågstrafiken."
    ),
    "assumptions": (
        "Snöfallet pågår i 24–48 timmar. Framkomligheten för utryckningsfordon, "
        "hemtjänst och leveranser är begränsad. Lokala elavbrott kan förekomma. "
        "Allmänheten behöver samordnad information."
    ),
    "goal": (
        "Samhällsviktig verksamhet upprätthålls, framkomligheten för "
        "utryckningsfordon säkras och allmänheten får samordnad och korrekt information."
    ),
}
# phase, measure, responsible actor (None: all actors)
MEASURES = (
    (Phase.PREPARATORY, "Bevaka SMHI:s varningar och sprid dem till aktörerna i "
     "samverkan.", "Länsstyrelsen Stockholm"),
    (Phase.PREPARATORY, "Stäm av beredskapen för snöröjning och halkbekämpning på "
     "statliga och kommunala vägar.", "Trafikverket"),
    (Phase.PREPARATORY, "Kontrollera att kontaktvägar och larmkedjor är aktuella inför "
     "säsongen.", None),
    (Phase.PREPARATORY, "Förbered samordnade budskap till allmänheten.",
     "Länsstyrelsen Stockholm"),
    (Phase.HANDLING, "Sammankalla regional samverkanskonferens (RSK) och fastställ en "
     "gemensam lägesbild.", "Länsstyrelsen Stockholm"),
    (Phase.HANDLING, "Prioritera framkomlighet för utryckningsfordon, kollektivtrafik "
     "och hemtjänst.", "Trafikverket"),
    (Phase.HANDLING, "Samordna stöd till strandsatta resenärer och information till "
     "allmänheten.", "Region Stockholm"),
    (Phase.HANDLING, "Stöd kommunerna med frivilliga resurser (FRG) vid behov.", None),
)  # fmt: skip

# --- The call trees ---------------------------------------------------------------

TREE_NAMES = {
    Mode.ORDINARY: "Larmkedja snö/halka – ordinarie läge",
    Mode.ACTIVATED: "Larmkedja snö/halka – aktiverat läge",
}
# Each node calls an actor's duty-officer role; (actor, children), at most five each.
CALL_TREE = ("Länsstyrelsen Stockholm", (
    ("Trafikverket", (
        (HANINGE, (
            (BUS_COMPANY, ()),
            (PLOUGH_CONTRACTORS[0], ()),
            (PLOUGH_CONTRACTORS[1], ()),
            (FRG_HANINGE, ()),
            (LOCAL_POLICE, ()),
        )),
        ("Huddinge kommun", ()),
        ("Nynäshamns kommun", ()),
        ("Tyresö kommun", ()),
        ("Botkyrka kommun", ()),
    )),
    ("Region Stockholm", ()),
    ("Polismyndigheten", ()),
    ("SOS Alarm", ()),
    ("Storstockholms brandförsvar", ()),
))  # fmt: skip

INSTRUCTIONS = {
    "Länsstyrelsen Stockholm": (
        "Starta larmkedjan när SMHI varnar för snö eller halka, eller när Trafikverket "
        "rapporterar omfattande störningar. Notera klockslag för varje samtal."
    ),
    "Trafikverket": "Lämna lägesbild för vägnätet och ring vidare till kommunerna nedan.",
    HANINGE: "Ring vidare till de lokala aktörerna nedan. Stäm av snöröjning och busstrafik.",
    BUS_COMPANY: "Fråga efter inställda och omledda linjer.",
    PLOUGH_CONTRACTORS[0]: "Stäm av fordon och förare i tjänst.",
    PLOUGH_CONTRACTORS[1]: "Stäm av fordon och förare i tjänst.",
    FRG_HANINGE: "Förvarna om att frivilliga kan behövas.",
}
DEFAULT_INSTRUCTIONS = "Lämna lägesbild och fråga efter behov av stöd."
NOT_A_DRILL = "Säg: detta är inte en övning."
ESCALATE_AFTER = {Mode.ORDINARY: 10, Mode.ACTIVATED: 5}
# Alternates besides the actor's own switchboard: (kind, actor, person or None)
EXTRA_ALTERNATES = {
    HANINGE: (("person", HANINGE, "Lena Håkansson"),),
    BUS_COMPANY: (("role", "Region Stockholm", None),),
    PLOUGH_CONTRACTORS[0]: (("role", ADMINISTRATION, None),),
    PLOUGH_CONTRACTORS[1]: (("role", ADMINISTRATION, None),),
    FRG_HANINGE: (("person", HANINGE, "Lena Håkansson"),),
    LOCAL_POLICE: (("actor", "Polismyndigheten", None),),
}
ALTERNATE_MINUTES = 5

# --- Collaboration patterns ------------------------------------------------------

CONVENER = "Länsstyrelsen Stockholm"
BRIDGE_KEY = "bridge"
RSK = {
    "name": "Regional samverkanskonferens (RSK)",
    "mode": PathMode.ACTIVATED,
    "recurrence": "FREQ=DAILY;BYHOUR=9,15;BYMINUTE=0",
    "duration_minutes": 30,
    "meeting_place": "Telefonkonferens (brygga) och Rakel",
    "purpose": (
        "Gemensam lägesbild, samordnade åtgärder och samordnad information till "
        "allmänheten vid trafikstörningar p.g.a. snö och halka."
    ),
    "mandate": (
        "Varje aktör företräds av någon med mandat att fatta beslut för sin "
        "organisation eller snabbt förankra dem. RSK fattar inga beslut åt aktörerna."
    ),
    "pin": "246810#",
    "rakel": "RSTH SAMV-1",
}
WEEKLY = {
    "name": "Veckovis avstämning TiB",
    "mode": PathMode.ORDINARY,
    "recurrence": "FREQ=WEEKLY;BYDAY=WE;BYHOUR=10;BYMINUTE=0",
    "duration_minutes": 15,
    "meeting_place": "Telefonkonferens (brygga)",
    "purpose": "Kort avstämning mellan tjänstemännen i beredskap: läget, kommande "
    "risker och ändrade kontaktvägar.",
    "mandate": "Informationsutbyte; inga beslut.",
    "pin": "135790#",
    "rakel": None,
}
# The weekly check-in: the county board and the duty officers it calls first.
WEEKLY_PARTICIPANTS = (
    "Länsstyrelsen Stockholm", "Region Stockholm", "Trafikverket", "Polismyndigheten",
    "SOS Alarm", "Storstockholms brandförsvar", "Södertörns brandförsvarsförbund",
    "Brandkåren Attunda", HANINGE, "Huddinge kommun", "Nynäshamns kommun",
    "Tyresö kommun", "Botkyrka kommun",
)  # fmt: skip

# --- Users ----------------------------------------------------------------------

# e-mail, role, name, the actors an editor may edit
USERS = (
    ("admin@demo.example", UserRole.ADMIN, "Demo Samordnare", ()),
    ("editor@demo.example", UserRole.EDITOR, "Demo Redaktör", (HANINGE,)),
    ("viewer@demo.example", UserRole.VIEWER, "Demo TiB", ()),
)

# --- The number plan -------------------------------------------------------------

FICTION_FIRST, FICTION_LAST = "+46701740605", "+46701740699"
FICTION_SUFFIXES = range(5, 100)  # 070-174 06 05 ... 070-174 06 99

