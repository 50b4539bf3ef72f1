"""Static Swedish master data for the generator: a BAS chart subset, customers, suppliers, shops, texts.

Only data lives here (no randomness); `voucher_factory` and `seed` draw from it with a seeded generator.
"""

from __future__ import annotations

# (number, name, type, type description). Account types are opaque integers in the API; these follow the
# BAS classes so tests can tell balance-sheet accounts (< 3000) from result accounts.
BAS_ACCOUNTS: tuple[tuple[int, str, int, str], ...] = (
    (1220, "Inventarier och verktyg", 1, "Anläggningstillgångar"),
    (1229, "Ackumulerade avskrivningar på inventarier och verktyg", 1, "Anläggningstillgångar"),
    (1510, "Kundfordringar", 2, "Omsättningstillgångar"),
    (1580, "Fordringar för kontokort och kuponger", 2, "Omsättningstillgångar"),
    (1630, "Skattekonto", 2, "Omsättningstillgångar"),
    (1790, "Övriga förutbetalda kostnader och upplupna intäkter", 2, "Omsättningstillgångar"),
    (1910, "Kassa", 3, "Kassa och bank"),
    (1930, "Företagskonto/checkkonto/affärskonto", 3, "Kassa och bank"),
    (2081, "Aktiekapital", 4, "Eget kapital"),
    (2091, "Balanserad vinst eller förlust", 4, "Eget kapital"),
    (2098, "Vinst eller förlust från föregående år", 4, "Eget kapital"),
    (2099, "Årets resultat", 4, "Eget kapital"),
    (2440, "Leverantörsskulder", 5, "Kortfristiga skulder"),
    (2611, "Utgående moms på försäljning inom Sverige, 25 %", 6, "Moms"),
    (2641, "Debiterad ingående moms", 6, "Moms"),
    (2650, "Redovisningskonto för moms", 6, "Moms"),
    (2710, "Personalskatt", 5, "Kortfristiga skulder"),
    (2731, "Avräkning lagstadgade sociala avgifter", 5, "Kortfristiga skulder"),
    (2920, "Upplupna semesterlöner", 5, "Kortfristiga skulder"),
    (2990, "Övriga upplupna kostnader och förutbetalda intäkter", 5, "Kortfristiga skulder"),
    (3001, "Försäljning inom Sverige, 25 % moms", 7, "Intäkter"),
    (3041, "Försäljning tjänst inom Sverige, 25 % moms", 7, "Intäkter"),
    (3740, "Öres- och kronutjämning", 7, "Intäkter"),
    (4010, "Inköp material och varor", 8, "Varuinköp"),
    (5010, "Lokalhyra", 9, "Övriga externa kostnader"),
    (5410, "Förbrukningsinventarier", 9, "Övriga externa kostnader"),
    (5460, "Förbrukningsmaterial", 9, "Övriga externa kostnader"),
    (5611, "Drivmedel för personbilar", 9, "Övriga externa kostnader"),
    (5800, "Resekostnader", 9, "Övriga externa kostnader"),
    (6071, "Representation, avdragsgill", 9, "Övriga externa kostnader"),
    (6110, "Kontorsmateriel", 9, "Övriga externa kostnader"),
    (6212, "Mobiltelefon", 9, "Övriga externa kostnader"),
    (6230, "Datakommunikation", 9, "Övriga externa kostnader"),
    (6540, "IT-tjänster", 9, "Övriga externa kostnader"),
    (6570, "Bankkostnader", 9, "Övriga externa kostnader"),
    (7210, "Löner till tjänstemän", 10, "Personalkostnader"),
    (7510, "Arbetsgivaravgifter 31,42 %", 10, "Personalkostnader"),
    (7832, "Avskrivningar på inventarier och verktyg", 11, "Avskrivningar"),
    (8310, "Ränteintäkter från omsättningstillgångar", 12, "Finansiella poster"),
    (8410, "Räntekostnader för långfristiga skulder", 12, "Finansiella poster"),
    (8999, "Årets resultat", 13, "Årets resultat"),
)

ACCOUNT_NAMES: dict[int, str] = {number: name for number, name, _, _ in BAS_ACCOUNTS}

# Costs booked from supplier invoices and receipts: (account, what it is).
COST_ACCOUNTS: tuple[tuple[int, str], ...] = (
    (4010, "material"),
    (5010, "lokalhyra"),
    (5410, "förbrukningsinventarier"),
    (5460, "förbrukningsmaterial"),
    (5611, "drivmedel"),
    (5800, "resa"),
    (6071, "representation"),
    (6110, "kontorsmaterial"),
    (6212, "mobiltelefoni"),
    (6230, "bredband"),
    (6540, "IT-tjänster"),
)

CUSTOMERS: tuple[str, ...] = (
    "Åkesson Måleri AB",
    "Björkängens Förskola",
    "Öresunds Logistik AB",
    "Länsförsäkringar Göteborg",
    "Häggströms Rör & Värme AB",
    "Ängelholms Bilverkstad HB",
    "Sjöberg & Ström Advokatbyrå",
    "Västerås Städservice AB",
    "Kiruna Fjällturer AB",
    "Ekström Elektriska AB",
)

SUPPLIERS: tuple[str, ...] = (
    "Ahlsell Sverige AB",
    "Telia Sverige AB",
    "Vattenfall AB",
    "Bröderna Öbergs Åkeri AB",
    "Kontorsgiganten i Jönköping AB",
    "Fastighets AB Älvstranden",
    "Görans Järnhandel",
    "Dustin Sverige AB",
)

SHOPS: tuple[str, ...] = (
    "Åhléns City",
    "Clas Ohlson",
    "ICA Kvantum Mölndal",
    "Circle K Sundsvall",
    "Pressbyrån Centralen",
    "Biltema Örebro",
    "SJ AB",
    "Restaurang Gröna Lund",
)

MONTHS: tuple[str, ...] = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)

PEOPLE: tuple[str, ...] = ("Anna Lindqvist", "Örjan Sjöström", "Märta Åberg", "Jöns Ekdahl")
