"""The viewer's words in Swedish (the default: auditors in Sweden) and English, chosen by `?lang=`."""

from __future__ import annotations

LANGUAGES = ("sv", "en")

TEXTS: dict[str, dict[str, str]] = {
    "sv": {
        "title": "Verifikationer",
        "previous": "Föregående",
        "next": "Nästa",
        "of": "av",
        "filter": "Urval",
        "all": "Alla verifikationer",
        "with_documents": "Med underlag",
        "missing_documents": "Med saknade underlag",
        "account": "Konto",
        "apply": "Visa",
        "number": "Verifikation",
        "date": "Datum",
        "text": "Text",
        "row": "Rad",
        "account_name": "Kontonamn",
        "debit": "Debet",
        "credit": "Kredit",
        "total": "Summa",
        "documents": "Underlag",
        "no_documents": "Inga underlag",
        "missing": "Saknas",
        "open": "Öppna i ny flik",
        "download": "Ladda ned",
        "empty": "Inga verifikationer matchar urvalet.",
        "loading": "Hämtar …",
        "error": "Kunde inte hämta",
        "hint": "Pilar ← → eller svep för att bläddra",
        "other_language": "English",
    },
    "en": {
        "title": "Vouchers",
        "previous": "Previous",
        "next": "Next",
        "of": "of",
        "filter": "Filter",
        "all": "All vouchers",
        "with_documents": "With documents",
        "missing_documents": "With missing documents",
        "account": "Account",
        "apply": "Show",
        "number": "Voucher",
        "date": "Date",
        "text": "Text",
        "row": "Row",
        "account_name": "Account name",
        "debit": "Debit",
        "credit": "Credit",
        "total": "Total",
        "documents": "Documents",
        "no_documents": "No documents",
        "missing": "Missing",
        "open": "Open in a new tab",
        "download": "Download",
        "empty": "No vouchers match the filter.",
        "loading": "Loading …",
        "error": "Could not load",
        "hint": "Arrow keys ← → or swipe to move",
        "other_language": "Svenska",
    },
}


def language(requested: str | None) -> str:
    return requested if requested in LANGUAGES else "sv"
