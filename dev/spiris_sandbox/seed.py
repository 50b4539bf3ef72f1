"""The deterministic seeded generator: a demo user with several Swedish companies and their books.

`generate_user_data(seed, ...)` returns the users and company profiles at once and builds each company's books
(fiscal years, BAS accounts, balanced vouchers, invoices, attachments) lazily on first use, from a generator
seeded by (seed, company, fiscal year) — so the same seed always yields the same data, companies do not
disturb each other, and 20,000 vouchers take about a second. File bytes are never stored, only
`DocumentSpec`s.
"""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from spiris_sandbox.catalog import BAS_ACCOUNTS
from spiris_sandbox.clock import format_utc_millis
from spiris_sandbox.company_data import CompanyData, CompanyProfile, FiscalYear, Record
from spiris_sandbox.documents import DocumentSpec
from spiris_sandbox.voucher_factory import VoucherFactory

DEMO_EMAIL = "revisor@example.se"
DEMO_PASSWORD = "sandlada"
SECOND_EMAIL = "bokforare@example.se"

# name, type of business, street, postal code, city, org-number prefix, role in tests
_COMPANIES: tuple[tuple[str, int, str, str, str, str, str], ...] = (
    ("Norrskens Redovisning AB", 1, "Storgatan 12", "903 26", "Umeå", "556", "full"),
    ("Fjällbackas Bygg & Snickeri AB", 1, "Hamngatan 3", "457 40", "Fjällbacka", "559", "full"),
    ("Ölands Café & Bageri HB", 5, "Köpmangatan 7", "387 31", "Borgholm", "969", "full"),
    ("Kvarnbäckens Fastigheter AB", 1, "Kvarnvägen 1", "731 30", "Köping", "556", "readonly"),
    ("Sågverket i Ärla AB", 1, "Sågvägen 5", "635 05", "Ärla", "559", "no-module"),
    ("Gamla Hamnens Handel AB", 1, "Skeppsbron 22", "211 20", "Malmö", "556", "inactive"),
)

HOSTILE_FILE_NAMES: tuple[tuple[str, str], ...] = (
    ("Kvitto Åhléns - städmaterial (ÅÄÖ åäö).pdf", "application/pdf"),
    ("../../etc/passwd", "application/pdf"),
    ("Mycket långt filnamn " + ("åäö-" * 70)[:275] + ".pdf", "application/pdf"),  # exactly 300 characters
    ("tom fil.pdf", "application/pdf"),
    ("skanning.jpg", "image/jpeg"),
)


def luhn_control_digit(digits: str) -> int:
    """The Luhn (modulus 10) control digit Swedish organisation numbers end with."""
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def org_number(rng: random.Random, prefix: str) -> str:
    """A valid-looking organisationsnummer `NNNNNN-NNNN` with a correct control digit."""
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(9 - len(prefix)))
    return f"{body[:6]}-{body[6:]}{luhn_control_digit(body)}"


@dataclass
class User:
    """A Visma Online login: e-mail, password, per-company permissions, an optional default company."""

    id: str
    email: str
    password: str
    name: str
    permissions: dict[int, str]
    default_company: int | None
    token_generation: int = 0

    @property
    def companies(self) -> list[int]:
        return sorted(self.permissions)


@dataclass
class UserData:
    """The seeded world: users and companies; books are generated per company on first access."""

    seed: int
    vouchers_per_year: int
    documents_ratio: float
    fiscal_years: tuple[int, ...]
    periods: tuple[tuple[date, date], ...]
    large_document_bytes: int
    users: list[User]
    profiles: dict[int, CompanyProfile]
    _books: dict[int, CompanyData] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def company(self, number: int) -> CompanyData:
        """The company's books, generated on first use (thread-safe)."""
        with self._lock:
            books = self._books.get(number)
            if books is None:
                books = _build_books(self, self.profiles[number])
                self._books[number] = books
            return books

    def user_by_email(self, email: str) -> User | None:
        for user in self.users:
            if user.email.lower() == email.strip().lower():
                return user
        return None

    def user_by_id(self, user_id: str) -> User | None:
        for user in self.users:
            if user.id == user_id:
                return user
        return None

    def company_by_id(self, company_id: str) -> CompanyProfile | None:
        for profile in self.profiles.values():
            if profile.id == company_id:
                return profile
        return None


def generate_user_data(
    seed: int,
    *,
    vouchers_per_year: int = 300,
    documents_ratio: float = 0.3,
    fiscal_years: tuple[int, ...] = (2024, 2025),
    fiscal_year_periods: tuple[tuple[str, str], ...] = (),
    large_document_bytes: int = 0,
    default_company: int | None = 1,
    client_company_sizes: tuple[int, ...] = (),
) -> UserData:
    """The deterministic seeded world for `seed` (books are built lazily by `UserData.company`); each of
    `client_company_sizes` adds one client company (7, 8, ...) with that many vouchers per year."""
    periods = _periods(fiscal_years, fiscal_year_periods)
    rng = random.Random(f"spiris-sandbox:{seed}:companies")
    profiles: dict[int, CompanyProfile] = {}
    for number, (name, business, street, postal, city, prefix, role) in enumerate(_COMPANIES, start=1):
        company_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        org = org_number(rng, prefix)
        full_size = role == "full"
        profile = CompanyProfile(
            number=number,
            id=company_id,
            name=name,
            org_number=org,
            settings=_settings(
                name=name,
                org=org,
                business=business,
                street=street,
                postal=postal,
                city=city,
                rng=rng,
                periods=periods,
                active=role != "inactive",
            ),
            has_api_module=role != "no-module",
            active=role != "inactive",
            vouchers_per_year=vouchers_per_year if full_size else min(vouchers_per_year, 25),
        )
        profile.sync_settings()
        profiles[number] = profile
    for number, size in enumerate(client_company_sizes, start=len(_COMPANIES) + 1):
        profiles[number] = _client_company(seed, number=number, vouchers_per_year=size, periods=periods)
    permissions = {number: "full" for number in profiles}
    for number, entry in enumerate(_COMPANIES, start=1):
        if entry[6] == "readonly":
            permissions[number] = "readonly"
    users = [
        User(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            email=DEMO_EMAIL,
            password=DEMO_PASSWORD,
            name="Anna Lindqvist",
            permissions=permissions,
            default_company=default_company if default_company in profiles else None,
        ),
        User(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            email=SECOND_EMAIL,
            password=DEMO_PASSWORD,
            name="Örjan Sjöström",
            permissions={2: "full"},
            default_company=None,
        ),
    ]
    return UserData(
        seed=seed,
        vouchers_per_year=vouchers_per_year,
        documents_ratio=documents_ratio,
        fiscal_years=fiscal_years,
        periods=periods,
        large_document_bytes=large_document_bytes,
        users=users,
        profiles=profiles,
    )


def _client_company(
    seed: int, *, number: int, vouchers_per_year: int, periods: tuple[tuple[date, date], ...]
) -> CompanyProfile:
    # Its own generator: drawing from the seeded companies' one would change the users and companies 1-6.
    rng = random.Random(f"spiris-sandbox:{seed}:client-company:{number}")
    name = f"Klient {number:04d} AB"
    org = org_number(rng, "559")
    profile = CompanyProfile(
        number=number,
        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        name=name,
        org_number=org,
        settings=_settings(
            name=name,
            org=org,
            business=1,
            street=f"Kundgatan {number}",
            postal="111 22",
            city="Stockholm",
            rng=rng,
            periods=periods,
            active=True,
        ),
        vouchers_per_year=vouchers_per_year,
    )
    profile.sync_settings()
    return profile


def _settings(
    *,
    name: str,
    org: str,
    business: int,
    street: str,
    postal: str,
    city: str,
    rng: random.Random,
    periods: tuple[tuple[date, date], ...],
    active: bool,
) -> Record:
    slug = name.split()[0].lower().translate(str.maketrans("åäöé", "aaoe"))
    locked_to = periods[0][1] if len(periods) > 1 else periods[0][0]
    return {
        "Name": name,
        "Email": f"info@{slug}.se",
        "Phone": f"0{rng.randrange(10, 99)}-{rng.randrange(100000, 999999)}",
        "MobilePhone": None,
        "Address1": street,
        "Address2": None,
        "CountryCode": "SE",
        "PostalCode": postal,
        "City": city,
        "Website": f"https://www.{slug}.se",
        "CurrencyCode": "SEK",
        # Derived, not drawn: drawing from `rng` here would shift every later company's seeded values.
        "TermsOfPaymentId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"terms-of-payment:{org}")),
        "CorporateIdentityNumber": org,
        "VatCode": "SE" + org.replace("-", "") + "01",
        "BankGiro": f"{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
        "PlusGiro": None,
        "BankAccount": None,
        "Iban": None,
        "Gln": None,
        "ProductVariant": 5,
        "TypeOfBusiness": business,
        "VatPeriod": 2,
        "ActivatedModules": ["bookkeeping", "invoicing", "api_standard"],
        "CompanyText": {
            "CustomerInvoiceTextDomestic": None,
            "CustomerInvoiceTextForeign": None,
            "OrderTextDomestic": None,
            "OrderTextForeign": None,
            "OverDueTextDomestic": None,
            "OverDueTextForeign": None,
        },
        "ShowPricesExclVatPC": True,
        "AccountingLockedTo": locked_to.isoformat() + "T00:00:00",
        "AccountingLockInterval": 3,
        "CompanyIdentifier": org.replace("-", ""),
        "CompanyEmailForUpload": None,
        "AccountNumberDigits": 4,
        "CompanyStatus": 1 if active else 0,
        "UsesCostCenter": False,
        "UsesProject": False,
    }


def _build_books(world: UserData, profile: CompanyProfile) -> CompanyData:
    rng = random.Random(f"spiris-sandbox:{world.seed}:company:{profile.number}:years")
    years = world.periods
    fiscal_years = [
        FiscalYear(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            start=start,
            end=end,
            locked=index < len(years) - 1,
            bookkeeping_method=0,
        )
        for index, (start, end) in enumerate(years)
    ]
    # Calendar years keep their historical seed key (the seeded data must not change); explicit periods
    # may share a start year, so they are keyed by their start date.
    calendar = all(start.month == 1 and start.day == 1 for start, _ in years) and len(
        {start.year for start, _ in years}
    ) == len(years)
    books = CompanyData(profile=profile, fiscal_years=fiscal_years)
    scale = rng.randrange(5, 40)
    books.opening_balances[fiscal_years[0].id] = {
        1220: 8000000 * scale // 10,
        1510: 4000000 * scale // 10,
        1930: 25000000 * scale // 10,
        2081: -5000000 * scale // 10,
        2091: -20000000 * scale // 10,
        2440: -12000000 * scale // 10,
    }
    for index, year in enumerate(fiscal_years):
        books.accounts[year.id] = _accounts(year, rng)
        year_rng = random.Random(
            f"spiris-sandbox:{world.seed}:company:{profile.number}:year:"
            + (str(year.start.year) if calendar else year.start.isoformat())
        )
        factory = VoucherFactory(
            company=books, fiscal_year=year, rng=year_rng, documents_ratio=world.documents_ratio
        )
        span = (year.end - year.start).days + 1
        days = sorted(year_rng.randrange(span) for _ in range(profile.vouchers_per_year))
        first_linked = len(books.attachments)
        for offset in days:
            books.add_voucher(year.id, factory.make(day=year.start + timedelta(days=offset)))
        factory.deleted_supplier_invoice(day=year.start + timedelta(days=year_rng.randrange(span)))
        for _ in range(max(2, profile.vouchers_per_year // 150)):
            factory.unmatched_attachment(day=year.start + timedelta(days=year_rng.randrange(span)))
        if profile.number == 1:
            _make_hostile(
                books, first_linked, large=world.large_document_bytes if index == len(years) - 1 else 0
            )
        if index + 1 < len(fiscal_years):
            books.opening_balances[fiscal_years[index + 1].id] = _closing(books, year)
    return books


def _periods(
    fiscal_years: tuple[int, ...], explicit: tuple[tuple[str, str], ...]
) -> tuple[tuple[date, date], ...]:
    """The fiscal years' (start, end), sorted: the explicit periods if any, else whole calendar years."""
    if explicit:
        return tuple(sorted((date.fromisoformat(a), date.fromisoformat(b)) for a, b in explicit))
    return tuple((date(year, 1, 1), date(year, 12, 31)) for year in sorted(fiscal_years))


def _accounts(year: FiscalYear, rng: random.Random) -> list[Record]:
    created = datetime.combine(
        year.start - timedelta(days=rng.randrange(5, 40)), datetime.min.time(), tzinfo=UTC
    )
    stamp = format_utc_millis(created).removesuffix("Z")
    return [
        {
            "Name": name,
            "Number": str(number),
            "VatCodeId": None,
            "VatCodeDescription": "25 %" if number in (3001, 3041) else None,
            "FiscalYearId": year.id,
            "ReferenceCode": None,
            "Type": account_type,
            "TypeDescription": description,
            "ModifiedUtc": stamp,
            "CreatedUtc": stamp,
            "IsActive": True,
            "AllowTransactionText": True,
            "IsFirstCostCenterMandatory": False,
            "IsProjectAllowed": True,
            "IsCostCenterAllowed": True,
            "IsBlockedForManualBooking": number in (2099, 8999),
            "Description": None,
        }
        for number, name, account_type, description in BAS_ACCOUNTS
    ]


def _make_hostile(books: CompanyData, first_linked: int, *, large: int) -> None:
    """Give the year's first linked attachments hostile names/contents, and optionally one huge file."""
    linked = [
        record
        for record in list(books.attachments.values())[first_linked:]
        if record["AttachmentStatus"] == 0
    ]
    for record, (name, content_type) in zip(linked, HOSTILE_FILE_NAMES, strict=False):
        record["FileName"] = name
        record["ContentType"] = content_type
        if name == "tom fil.pdf":
            books.documents[record["Id"]] = DocumentSpec(kind="empty")
        elif content_type == "image/jpeg":
            # A PDF served as image/jpeg: clients must not trust the declared type.
            books.documents[record["Id"]] = DocumentSpec(kind="pdf", lines=("Skannad sida", record["Id"]))
    if large and len(linked) > len(HOSTILE_FILE_NAMES):
        record = linked[len(HOSTILE_FILE_NAMES)]
        record["FileName"] = "Årsbokslut - stor skanning.pdf"
        record["ContentType"] = "application/pdf"
        books.documents[record["Id"]] = DocumentSpec(kind="pdf", lines=("Stor skanning",), pad_to=large)


def _closing(books: CompanyData, year: FiscalYear) -> dict[int, int]:
    """Closing balances of balance-sheet accounts, with the year's result carried to 2098."""
    balances = dict(books.opening_balances.get(year.id, {}))
    for voucher in books.vouchers.get(year.id, []):
        for row in voucher["Rows"]:
            account = row["AccountNumber"]
            balances[account] = (
                balances.get(account, 0) + round(row["DebitAmount"] * 100) - round(row["CreditAmount"] * 100)
            )
    result = sum(value for account, value in balances.items() if account >= 3000)
    closing = {account: value for account, value in balances.items() if account < 3000 and value}
    closing[2098] = closing.get(2098, 0) + result
    return closing
