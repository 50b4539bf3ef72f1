"""SIE 4 (the Swedish accounting exchange format): the one codec of the package — today its reader.

A SIE 4 file is CP437 ("PC8") text, one record per line: a `#LABEL` and fields separated by blanks; a field
with blanks is quoted (`"Faktura 12"`, `\\"` and `\\\\` escaped), an object list sits in braces (`{1 "100"}`).
Verifications are `#VER series number date [text [regdate [sign]]]` followed by a `{ ... }` block of
`#TRANS account {objects} amount [date [text [quantity [sign]]]]` rows; `#RTRANS` (a row added later) is
followed by the same row as `#TRANS` for older readers and `#BTRANS` is a removed row, so only `#TRANS` rows
count. Amounts are decimal with a point (never floats). Besides verifications the reader keeps the header
fields, `#KONTO`, `#RAR`, `#IB`, `#UB` and `#RES`; unknown labels are skipped, as the standard asks. The
writer (`write_sie4`) turns the same `Sie4File` model back into bytes with the same `quote`, so whatever it
writes the reader reads back unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from decimal import Decimal, InvalidOperation

ENCODING = "cp437"


class Sie4Error(ValueError):
    """The bytes are not a readable SIE 4 file; the message says where."""


@dataclasses.dataclass(frozen=True)
class Sie4Transaction:
    """One `#TRANS` row: the account and the signed amount (debit positive, credit negative)."""

    account: int
    amount: Decimal
    objects: tuple[tuple[str, str], ...] = ()
    date: datetime.date | None = None
    text: str | None = None
    quantity: Decimal | None = None


@dataclasses.dataclass(frozen=True)
class Sie4Voucher:
    """One `#VER` with its `#TRANS` rows in file order."""

    series: str
    number: str
    date: datetime.date
    text: str | None
    transactions: tuple[Sie4Transaction, ...]
    line: int
    registered: datetime.date | None = None
    """`regdatum`, the field after the text: when the voucher was entered (optional in the standard)."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.series, self.number)


@dataclasses.dataclass(frozen=True)
class Sie4File:
    """What the reader keeps of one file."""

    format: str | None
    sie_type: str | None
    program: str | None
    company_name: str | None
    org_number: str | None
    fiscal_years: dict[int, tuple[datetime.date, datetime.date]]
    accounts: dict[int, str]
    opening_balances: dict[tuple[int, int], Decimal]
    closing_balances: dict[tuple[int, int], Decimal]
    results: dict[tuple[int, int], Decimal]
    vouchers: tuple[Sie4Voucher, ...]


_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(\{)|(\})|([^\s"{}]+))')


def tokens(line: str) -> list[str | list[str]]:
    """The fields of one record line; a `{...}` object list becomes a list of its fields."""
    out: list[str | list[str]] = []
    stack: list[list[str]] = []
    position = 0
    while position < len(line):
        if line[position:].strip() == "":
            break
        match = _TOKEN.match(line, position)
        if match is None:
            raise Sie4Error(f"unreadable field at column {position + 1}")
        position = match.end()
        quoted, opening, closing, bare = match.groups()
        if opening:
            stack.append([])
            continue
        if closing:
            if not stack:
                raise Sie4Error(f"unbalanced '}}' at column {position}")
            inner = stack.pop()
            if stack:
                stack[-1].extend(inner)
            else:
                out.append(inner)
            continue
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else str(bare)
        if stack:
            stack[-1].append(value)
        else:
            out.append(value)
    if stack:
        raise Sie4Error("unclosed '{'")
    return out


def quote(text: str) -> str:
    """A field as SIE 4 writes it: quoted, with `\\` and `"` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(fields: list[str | list[str]], index: int) -> str | None:
    if index >= len(fields) or isinstance(fields[index], list):
        return None
    value = fields[index]
    assert isinstance(value, str)
    return value or None


def _date(value: str | None, *, line: int) -> datetime.date:
    if value is None or not re.fullmatch(r"\d{8}", value):
        raise Sie4Error(f"line {line}: bad date {value!r}")
    try:
        return datetime.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise Sie4Error(f"line {line}: bad date {value!r}") from None


def _amount(value: str | None, *, line: int) -> Decimal:
    try:
        return Decimal(str(value).replace(",", "."))
    except (InvalidOperation, TypeError):
        raise Sie4Error(f"line {line}: bad amount {value!r}") from None


def _int(value: str | None, *, line: int, what: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise Sie4Error(f"line {line}: bad {what} {value!r}") from None


def _transaction(fields: list[str | list[str]], *, line: int) -> Sie4Transaction:
    objects = fields[2] if len(fields) > 2 and isinstance(fields[2], list) else []
    offset = 3 if len(fields) > 2 and isinstance(fields[2], list) else 2
    day = _text(fields, offset + 1)
    quantity = _text(fields, offset + 3)
    return Sie4Transaction(
        account=_int(_text(fields, 1), line=line, what="account"),
        amount=_amount(_text(fields, offset), line=line),
        objects=tuple(zip(objects[0::2], objects[1::2], strict=False)),
        date=_date(day, line=line) if day else None,
        text=_text(fields, offset + 2),
        quantity=_amount(quantity, line=line) if quantity else None,
    )


def read_sie4(content: bytes) -> Sie4File:
    """Parse a SIE 4 file (CP437). Raises :class:`Sie4Error` on anything it cannot read."""
    text = content.decode(ENCODING)
    header: dict[str, str | None] = {}
    years: dict[int, tuple[datetime.date, datetime.date]] = {}
    accounts: dict[int, str] = {}
    balances: dict[str, dict[tuple[int, int], Decimal]] = {"#IB": {}, "#UB": {}, "#RES": {}}
    vouchers: list[Sie4Voucher] = []
    open_voucher: tuple[list[str | list[str]], int] | None = None
    rows: list[Sie4Transaction] = []
    in_block = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line == "{":
            if open_voucher is None or in_block:
                raise Sie4Error(f"line {number}: '{{' without #VER")
            in_block = True
            continue
        if line == "}":
            if not in_block or open_voucher is None:
                raise Sie4Error(f"line {number}: '}}' without '{{'")
            fields, start = open_voucher
            vouchers.append(
                Sie4Voucher(
                    series=_text(fields, 1) or "",
                    number=_text(fields, 2) or "",
                    date=_date(_text(fields, 3), line=start),
                    text=_text(fields, 4),
                    transactions=tuple(rows),
                    line=start,
                    registered=_date(_text(fields, 5), line=start) if _text(fields, 5) else None,
                )
            )
            open_voucher, rows, in_block = None, [], False
            continue
        if not line.startswith("#"):
            raise Sie4Error(f"line {number}: not a record")
        try:
            fields = tokens(line)
        except Sie4Error as exc:
            raise Sie4Error(f"line {number}: {exc}") from None
        label = str(fields[0]).upper()
        if in_block:
            if label == "#TRANS":
                rows.append(_transaction(fields, line=number))
            elif label not in ("#RTRANS", "#BTRANS"):
                raise Sie4Error(f"line {number}: {label} inside a verification")
            continue
        if open_voucher is not None:
            raise Sie4Error(f"line {open_voucher[1]}: #VER without its '{{' block")
        if label == "#VER":
            open_voucher = (fields, number)
        elif label in ("#FORMAT", "#SIETYP", "#PROGRAM", "#FNAMN", "#ORGNR"):
            header[label] = _text(fields, 1)
        elif label == "#KONTO":
            accounts[_int(_text(fields, 1), line=number, what="account")] = _text(fields, 2) or ""
        elif label == "#RAR":
            index = _int(_text(fields, 1), line=number, what="year index")
            years[index] = (_date(_text(fields, 2), line=number), _date(_text(fields, 3), line=number))
        elif label in balances:
            key = (
                _int(_text(fields, 1), line=number, what="year index"),
                _int(_text(fields, 2), line=number, what="account"),
            )
            balances[label][key] = _amount(_text(fields, 3), line=number)
    if open_voucher is not None:
        raise Sie4Error(f"line {open_voucher[1]}: #VER never closed")
    return Sie4File(
        format=header.get("#FORMAT"),
        sie_type=header.get("#SIETYP"),
        program=header.get("#PROGRAM"),
        company_name=header.get("#FNAMN"),
        org_number=header.get("#ORGNR"),
        fiscal_years=years,
        accounts=accounts,
        opening_balances=balances["#IB"],
        closing_balances=balances["#UB"],
        results=balances["#RES"],
        vouchers=tuple(vouchers),
    )


# -- the writer ------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_CENT = Decimal("0.01")


def _field(text: str | None) -> str:
    """A free-text field: quoted, controls (CR/LF, tabs) folded to one blank since a record is one line, and
    characters CP437 cannot hold replaced by `?` before quoting, so the escaping sees the final text."""
    clean = _CONTROL.sub(" ", text or "").strip()
    return quote(clean.encode(ENCODING, errors="replace").decode(ENCODING))


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENT))


def _day(value: datetime.date) -> str:
    return value.strftime("%Y%m%d")


def _transaction_line(row: Sie4Transaction) -> str:
    objects = " ".join(f"{_field(kind)} {_field(value)}" for kind, value in row.objects)
    parts = [f"   #TRANS {row.account} {{{objects}}} {_money(row.amount)}"]
    if row.date is not None or row.text or row.quantity is not None:
        parts.append(_day(row.date) if row.date is not None else '""')
        parts.append(_field(row.text))
        if row.quantity is not None:
            parts.append(str(row.quantity))
    return " ".join(parts)


def write_sie4(
    sie: Sie4File, *, generated: datetime.date, program_version: str = "1.0", signature: str | None = None
) -> bytes:
    """`sie` as a SIE 4 file in CP437 with CRLF line ends: the header (`#FLAGGA`, `#FORMAT PC8`, `#SIETYP 4`,
    `#PROGRAM`, `#GEN`, `#FNAMN`, `#ORGNR`), `#RAR`, `#KONTO`, `#IB`/`#UB`/`#RES` in year-index and account
    order, then every `#VER` with its `#TRANS` rows in the order given. Amounts always carry two decimals."""
    lines = [
        "#FLAGGA 0",
        "#FORMAT PC8",
        "#SIETYP 4",
        f"#PROGRAM {_field(sie.program or 'spiris-operator')} {_field(program_version)}",
        f"#GEN {_day(generated)}" + (f" {_field(signature)}" if signature else ""),
    ]
    if sie.company_name:
        lines.append(f"#FNAMN {_field(sie.company_name)}")
    if sie.org_number:
        # Unquoted as in the standard's own examples when it is plain (digits and a dash): readers that
        # match `#ORGNR 556677-8899` literally read it too.
        plain = re.fullmatch(r"[0-9A-Za-z-]{1,20}", sie.org_number)
        lines.append(f"#ORGNR {sie.org_number if plain else _field(sie.org_number)}")
    for index in sorted(sie.fiscal_years, reverse=True):
        start, end = sie.fiscal_years[index]
        lines.append(f"#RAR {index} {_day(start)} {_day(end)}")
    lines += [f"#KONTO {number} {_field(name)}" for number, name in sorted(sie.accounts.items())]
    balances = (("#IB", sie.opening_balances), ("#UB", sie.closing_balances), ("#RES", sie.results))
    for label, values in balances:
        # The current year (index 0) first, then -1, ...; accounts ascending within a year.
        for (index, account), amount in sorted(values.items(), key=lambda item: (-item[0][0], item[0][1])):
            lines.append(f"{label} {index} {account} {_money(amount)}")
    for voucher in sie.vouchers:
        head = f"#VER {_field(voucher.series)} {_field(voucher.number)} {_day(voucher.date)}"
        registered = f" {_day(voucher.registered)}" if voucher.registered else ""
        lines.append(f"{head} {_field(voucher.text)}{registered}")
        lines.append("{")
        lines += [_transaction_line(row) for row in voucher.transactions]
        lines.append("}")
    return ("\r\n".join(lines) + "\r\n").encode(ENCODING, errors="replace")
