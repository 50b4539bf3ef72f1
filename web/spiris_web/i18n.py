"""Page texts in Swedish (the default) and English, and how a request picks its language.

`?lang=en` / `?lang=sv` switches and is remembered in a cookie; otherwise the cookie decides; otherwise
Swedish. Texts are plain strings with `{placeholders}`; templates escape the formatted result, so a company
name can never inject markup. Every key must exist in both languages (a unit test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter

from starlette.requests import Request
from starlette.responses import Response

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"
LANG_COOKIE = "spiris_lang"

MESSAGES: dict[str, dict[str, str]] = {
    "sv": {
        "site.tagline": "Säker koppling till Spiris",
        "site.switch_label": "Språk",
        "site.switch_to": "In English",
        "site.footer": "{product} läser bara. Inget i din bokföring ändras.",
        "site.skip": "Hoppa till innehållet",
        "site.next_heading": "Vad gör jag nu?",
        "summary.company": "Företag",
        "summary.orgnr": "Organisationsnummer",
        "consent.title": "Ge {product} läsbehörighet till bokföringen",
        "consent.lead": "{product} ber om att få läsa bokföringen för {display_name} i Spiris "
        "(tidigare Visma eEkonomi).",
        "consent.what_heading": "Det här kommer att läsas",
        "consent.what_ledger": "Huvudboken: kontoplan, verifikationer och deras konteringsrader.",
        "consent.what_documents": "Underlagen till verifikationerna: kundfakturor, leverantörsfakturor, "
        "kvitton och inskannade dokument.",
        "consent.what_company": "Företagets namn och organisationsnummer, så att vi kan kontrollera att rätt "
        "företag kopplas.",
        "consent.readonly": "Behörigheten gäller bara läsning. {product} kan inte bokföra, ändra eller "
        "ta bort något i Spiris.",
        "consent.needs_heading": "Det här behöver du",
        "consent.needs_permission": "Ett användarkonto i Spiris med programbehörigheten Fullständig "
        "(Inställningar → Behörigheter → Programbehörighet).",
        "consent.needs_module": "Att företaget har modulen Bokföring.",
        "consent.needs_company": "Välj {display_name} (org.nr {orgnr}) när Spiris frågar vilket företag "
        "som ska kopplas.",
        "consent.steps_heading": "Så går det till",
        "consent.step_login": "Du loggar in hos Spiris.",
        "consent.step_pick": "Du väljer företaget.",
        "consent.step_approve": "Du godkänner åtkomsten och kommer tillbaka hit.",
        "consent.button": "Ge behörighet",
        "consent.button_hint": "Du skickas vidare till Spiris inloggning.",
        "consent.expires": "Länken gäller till och med {expires}.",
        "success.title": "Klart \u2013 {company} är kopplat",
        "success.body": "{product} kan nu läsa bokföringen för {company} (org.nr {orgnr}).",
        "success.next": "Du behöver inte göra något mer. Du kan stänga det här fönstret.",
        "connected_read_only.title": "Kopplat \u2013 men {company} är skrivskyddat i Spiris",
        "connected_read_only.body": "{product} kan läsa bokföringen för {company} (org.nr {orgnr}). Spiris "
        "anger att företaget är skrivskyddat, så inget nytt kan bokföras där.",
        "connected_read_only.next": "Om företaget ska fortsätta bokföra: aktivera abonnemanget i Spiris "
        "(Inställningar → Abonnemang). För att bara läsa behöver du inte göra något mer.",
        "connected_without_invoices.title": "Kopplat \u2013 utan kundfakturor",
        "connected_without_invoices.body": "{product} kan läsa bokföringen för {company} (org.nr {orgnr}). "
        "Företaget har produktvarianten Bokföring i Spiris, som saknar kundfakturor: verifikationer, "
        "leverantörsfakturor och kvitton hämtas, men kundfakturornas PDF:er kan inte hämtas.",
        "connected_without_invoices.next": "Vill ni att kundfakturorna följer med, byt till en variant med "
        "fakturering i Spiris. Annars behöver du inte göra något mer.",
        "link_invalid.title": "Länken fungerar inte",
        "link_invalid.body": "Länken är ofullständig eller har ändrats, så vi kan inte lita på den.",
        "link_invalid.next": "Öppna länken igen direkt från meddelandet du fick, utan att ändra den. "
        "Fungerar det inte, be {product} om en ny länk.",
        "link_expired.title": "Länken har gått ut",
        "link_expired.body": "Av säkerhetsskäl gäller länken bara en begränsad tid.",
        "link_expired.next": "Be {product} om en ny länk.",
        "link_used.title": "Länken är redan använd",
        "link_used.body": "Kopplingen till Spiris är redan godkänd med den här länken.",
        "link_used.next": "Du behöver inte göra något mer. Behöver ni koppla om, be {product} om en ny länk.",
        "link_replaced.title": "Det finns en nyare länk",
        "link_replaced.body": "Den här länken har ersatts av en ny och gäller inte längre.",
        "link_replaced.next": "Använd den senaste länken du fått från {product}.",
        "link_unknown.title": "Kopplingen finns inte längre",
        "link_unknown.body": "Länken hör till en koppling som har tagits bort eller ersatts.",
        "link_unknown.next": "Be {product} om en ny länk.",
        "form_expired.title": "Sidan behöver laddas om",
        "form_expired.body": "Formuläret har gått ut eller öppnades i en annan webbläsare.",
        "form_expired.next": "Öppna länken igen och tryck på Ge behörighet.",
        "state_invalid.title": "Godkännandet kunde inte kontrolleras",
        "state_invalid.body": "Svaret från Spiris hörde inte ihop med den här webbläsaren, eller så har det "
        "redan använts. Ingenting har ändrats.",
        "state_invalid.next": "Öppna länken igen i samma webbläsare och börja om.",
        "state_expired.title": "Det tog för lång tid",
        "state_expired.body": "Inloggningen hos Spiris tog längre tid än vad vi tillåter. "
        "Ingenting har ändrats.",
        "state_expired.next": "Öppna länken igen och börja om.",
        "declined.title": "Behörigheten godkändes inte",
        "declined.body": "Du valde att inte ge {product} åtkomst. Ingenting har ändrats.",
        "declined.next": "Ångrade du dig kan du öppna länken igen och godkänna.",
        "authorization_failed.title": "Godkännandet kunde inte slutföras",
        "authorization_failed.body": "Spiris godtog inte godkännandet, till exempel för att det redan hade "
        "använts eller gått ut. Ingenting har ändrats.",
        "authorization_failed.next": "Öppna länken igen och börja om.",
        "wrong_company.title": "Fel företag valdes",
        "wrong_company.body": "Du valde {company} (org.nr {orgnr}), men länken gäller organisationsnummer "
        "{expected_orgnr}. Ingenting har kopplats.",
        "wrong_company.next": "Öppna länken igen och välj rätt företag när Spiris frågar.",
        "already_connected.title": "Kopplingen är redan klar",
        "already_connected.body": "Någon annan godkände samma länk samtidigt som du, och den kopplingen "
        "sparades först. Ditt godkännande för {company} (org.nr {orgnr}) används inte, och ingenting har "
        "ändrats.",
        "already_connected.next": "Du behöver inte göra något mer. Spiris har inget sätt för oss att dra "
        "tillbaka ditt godkännande, men vi har slängt nycklarna och använder dem aldrig. Vill du ta bort "
        "godkännandet helt, gör det bland integrationerna i Spiris. {product} har fått en notering om det.",
        "company_not_bound.title": "Länken är inte knuten till ett företag",
        "company_not_bound.body": "Kopplingen anger inte vilket organisationsnummer som ska godkännas, så "
        "länken kan inte användas. Ingenting har kopplats.",
        "company_not_bound.next": "Be {product} att ange företagets organisationsnummer för kopplingen och "
        "skicka en ny länk.",
        "missing_permission.title": "Behörighet saknas i Spiris",
        "missing_permission.body": "Ditt användarkonto har inte programbehörigheten Fullständig i företaget. "
        "Ingenting har kopplats.",
        "missing_permission.next": "Be en administratör i Spiris ge dig Fullständig under Inställningar → "
        "Behörigheter → Programbehörighet, eller låt någon som har den öppna länken.",
        "missing_module.title": "Modulen Bokföring saknas",
        "missing_module.body": "Företaget du valde har inte modulen Bokföring eller API-åtkomst i Spiris. "
        "Ingenting har kopplats.",
        "missing_module.next": "Kontrollera att du valde rätt företag. Saknas modulen, kontakta Spiris eller "
        "er redovisningskonsult och öppna sedan länken igen.",
        "variant_without_bookkeeping.title": "Företagets Spiris saknar bokföring",
        "variant_without_bookkeeping.body": "Företaget har en produktvariant i Spiris med bara fakturering, "
        "utan bokföring, så det finns ingen huvudbok att läsa. Ingenting har kopplats.",
        "variant_without_bookkeeping.next": "Kontrollera att du valde rätt företag. Annars behöver företaget "
        "en variant med bokföring (t.ex. Standard eller Pro) i Spiris; öppna sedan länken igen.",
        "company_inactive.title": "Företaget är inte aktivt i Spiris",
        "company_inactive.body": "Spiris svarar att företaget inte är aktivt eller att startguiden inte är "
        "klar. Ingenting har kopplats.",
        "company_inactive.next": "Logga in i Spiris, slutför startguiden eller aktivera företaget och öppna "
        "sedan länken igen.",
        "spiris_unavailable.title": "Spiris svarar inte just nu",
        "spiris_unavailable.body": "Vi kunde inte nå Spiris. Ingenting har ändrats.",
        "spiris_unavailable.next": "Vänta några minuter och öppna sedan länken igen.",
        "service_unavailable.title": "Tjänsten är tillfälligt otillgänglig",
        "service_unavailable.body": "Något gick fel hos oss. Ingenting har ändrats.",
        "service_unavailable.next": "Försök igen om några minuter. Kvarstår felet, kontakta {product}.",
        "not_configured.title": "Tjänsten är inte färdig att användas än",
        "not_configured.body": "{product} håller fortfarande på att sättas upp, så kopplingen till Spiris "
        "kan inte göras just nu. Ingenting har ändrats.",
        "not_configured.next": "Försök igen senare. Fick du länken från {product}, hör av dig till dem så "
        "att de kan slutföra installationen.",
        "not_found.title": "Sidan finns inte",
        "not_found.body": "Adressen du öppnade finns inte här.",
        "not_found.next": "Använd länken du fick från {product}.",
    },
    "en": {
        "site.tagline": "Secure connection to Spiris",
        "site.switch_label": "Language",
        "site.switch_to": "På svenska",
        "site.footer": "{product} only reads. Nothing in your bookkeeping is changed.",
        "site.skip": "Skip to content",
        "site.next_heading": "What do I do now?",
        "summary.company": "Company",
        "summary.orgnr": "Organisation number",
        "consent.title": "Give {product} read access to your bookkeeping",
        "consent.lead": "{product} asks to read the bookkeeping of {display_name} in Spiris "
        "(formerly Visma eEkonomi).",
        "consent.what_heading": "What will be read",
        "consent.what_ledger": "The general ledger: chart of accounts, vouchers and their rows.",
        "consent.what_documents": "The documents behind the vouchers: customer invoices, supplier invoices, "
        "receipts and scanned documents.",
        "consent.what_company": "The company's name and organisation number, so we can check that the right "
        "company is connected.",
        "consent.readonly": "The access is read-only. {product} cannot book, change or delete anything in "
        "Spiris.",
        "consent.needs_heading": "What you need",
        "consent.needs_permission": "A Spiris user with the program permission Full access "
        "(\u201cFullständig\u201d under Settings → Permissions → Program permission).",
        "consent.needs_module": "The company must have the Bookkeeping module (\u201cBokföring\u201d).",
        "consent.needs_company": "Choose {display_name} (org. no. {orgnr}) when Spiris asks which company to "
        "connect.",
        "consent.steps_heading": "How it works",
        "consent.step_login": "You log in at Spiris.",
        "consent.step_pick": "You choose the company.",
        "consent.step_approve": "You approve the access and come back here.",
        "consent.button": "Grant access",
        "consent.button_hint": "You will be taken to the Spiris login.",
        "consent.expires": "The link is valid until {expires}.",
        "success.title": "Done \u2013 {company} is connected",
        "success.body": "{product} can now read the bookkeeping of {company} (org. no. {orgnr}).",
        "success.next": "There is nothing more to do. You can close this window.",
        "connected_read_only.title": "Connected \u2013 but {company} is read-only in Spiris",
        "connected_read_only.body": "{product} can read the bookkeeping of {company} (org. no. {orgnr}). "
        "Spiris reports the company as read-only, so nothing new can be booked there.",
        "connected_read_only.next": "If the company is to go on bookkeeping, reactivate its subscription in "
        "Spiris (Settings → Subscription). To only read, there is nothing more to do.",
        "connected_without_invoices.title": "Connected \u2013 without customer invoices",
        "connected_without_invoices.body": "{product} can read the bookkeeping of {company} (org. no. "
        "{orgnr}). The company has the Spiris product variant Bookkeeping, which has no customer invoices: "
        "vouchers, supplier invoices and receipts are copied, but customer-invoice PDFs cannot be.",
        "connected_without_invoices.next": "If customer invoices should be included, switch to a variant "
        "with invoicing in Spiris. Otherwise there is nothing more to do.",
        "link_invalid.title": "This link does not work",
        "link_invalid.body": "The link is incomplete or has been altered, so we cannot trust it.",
        "link_invalid.next": "Open the link again directly from the message you received, without changing "
        "it. If that fails, ask {product} for a new link.",
        "link_expired.title": "This link has expired",
        "link_expired.body": "For your security, the link is only valid for a limited time.",
        "link_expired.next": "Ask {product} for a new link.",
        "link_used.title": "This link has already been used",
        "link_used.body": "Access to Spiris has already been granted with this link.",
        "link_used.next": "There is nothing more to do. If you need to reconnect, ask {product} for a "
        "new link.",
        "link_replaced.title": "There is a newer link",
        "link_replaced.body": "This link has been replaced by a new one and is no longer valid.",
        "link_replaced.next": "Use the latest link you received from {product}.",
        "link_unknown.title": "This connection no longer exists",
        "link_unknown.body": "The link belongs to a connection that has been removed or replaced.",
        "link_unknown.next": "Ask {product} for a new link.",
        "form_expired.title": "Please reload the page",
        "form_expired.body": "The form has expired or was opened in another browser.",
        "form_expired.next": "Open the link again and press Grant access.",
        "state_invalid.title": "The approval could not be verified",
        "state_invalid.body": "The answer from Spiris did not belong to this browser, or it was already "
        "used. Nothing has been changed.",
        "state_invalid.next": "Open the link again in the same browser and start over.",
        "state_expired.title": "That took too long",
        "state_expired.body": "Signing in at Spiris took longer than we allow. Nothing has been changed.",
        "state_expired.next": "Open the link again and start over.",
        "declined.title": "Access was not granted",
        "declined.body": "You chose not to give {product} access. Nothing has been changed.",
        "declined.next": "If you change your mind, open the link again and approve.",
        "authorization_failed.title": "The approval could not be completed",
        "authorization_failed.body": "Spiris did not accept the approval, for example because it had already "
        "been used or had expired. Nothing has been changed.",
        "authorization_failed.next": "Open the link again and start over.",
        "wrong_company.title": "The wrong company was chosen",
        "wrong_company.body": "You chose {company} (org. no. {orgnr}), but the link is for organisation "
        "number {expected_orgnr}. Nothing has been connected.",
        "wrong_company.next": "Open the link again and choose the right company when Spiris asks.",
        "already_connected.title": "The connection is already complete",
        "already_connected.body": "Someone else approved the same link at the same time as you, and that "
        "connection was stored first. Your approval for {company} (org. no. {orgnr}) is not used, and "
        "nothing has been changed.",
        "already_connected.next": "There is nothing more to do. Spiris offers no way for us to withdraw "
        "your approval, but we discarded its keys and never use them. To remove the approval entirely, do "
        "so among the integrations in Spiris. {product} has been notified.",
        "company_not_bound.title": "The link is not tied to a company",
        "company_not_bound.body": "The connection does not say which organisation number may be approved, so "
        "the link cannot be used. Nothing has been connected.",
        "company_not_bound.next": "Ask {product} to set the company's organisation number on the connection "
        "and send a new link.",
        "missing_permission.title": "Permission missing in Spiris",
        "missing_permission.body": "Your user does not have the program permission Full access in the "
        "company. Nothing has been connected.",
        "missing_permission.next": "Ask a Spiris administrator to give you Full access "
        "(\u201cFullständig\u201d under Settings → Permissions → Program permission), or let someone who has "
        "it open the link.",
        "missing_module.title": "The Bookkeeping module is missing",
        "missing_module.body": "The company you chose does not have the Bookkeeping module or API access in "
        "Spiris. Nothing has been connected.",
        "missing_module.next": "Check that you chose the right company. If the module is missing, contact "
        "Spiris or your accountant, then open the link again.",
        "variant_without_bookkeeping.title": "The company's Spiris has no bookkeeping",
        "variant_without_bookkeeping.body": "The company has a Spiris product variant with invoicing only, "
        "without bookkeeping, so there is no ledger to read. Nothing has been connected.",
        "variant_without_bookkeeping.next": "Check that you chose the right company. Otherwise the company "
        "needs a variant with bookkeeping (e.g. Standard or Pro) in Spiris; then open the link again.",
        "company_inactive.title": "The company is not active in Spiris",
        "company_inactive.body": "Spiris reports that the company is not active or its startup guide is not "
        "completed. Nothing has been connected.",
        "company_inactive.next": "Sign in to Spiris, complete the startup guide or activate the company, "
        "then open the link again.",
        "spiris_unavailable.title": "Spiris is not responding right now",
        "spiris_unavailable.body": "We could not reach Spiris. Nothing has been changed.",
        "spiris_unavailable.next": "Wait a few minutes, then open the link again.",
        "service_unavailable.title": "The service is temporarily unavailable",
        "service_unavailable.body": "Something went wrong on our side. Nothing has been changed.",
        "service_unavailable.next": "Try again in a few minutes. If it persists, contact {product}.",
        "not_configured.title": "This service is not set up yet",
        "not_configured.body": "{product} is still being set up, so the connection to Spiris cannot be made "
        "right now. Nothing has been changed.",
        "not_configured.next": "Try again later. If you received the link from {product}, let them know so "
        "they can finish the setup.",
        "not_found.title": "Page not found",
        "not_found.body": "The address you opened does not exist here.",
        "not_found.next": "Use the link you received from {product}.",
    },
}


class _Lenient(dict[str, object]):
    """Missing placeholders render as an empty string rather than raising mid-page."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Translator:
    """Texts of one language, formatted with page values."""

    language: str
    values: Mapping[str, object]

    def __call__(self, key: str, **extra: object) -> str:
        template = MESSAGES[self.language][key]
        merged = _Lenient(self.values)
        merged.update(extra)
        return Formatter().vformat(template, (), merged)

    @property
    def other_language(self) -> str:
        return "en" if self.language == "sv" else "sv"


def requested_language(request: Request) -> tuple[str, bool]:
    """(language, whether the request explicitly asked for it via ?lang=)."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked, True
    remembered = request.cookies.get(LANG_COOKIE, "")
    if remembered in LANGUAGES:
        return remembered, False
    return DEFAULT_LANGUAGE, False


def remember_language(response: Response, language: str, *, secure: bool) -> None:
    response.set_cookie(
        LANG_COOKIE, language, max_age=365 * 24 * 3600, httponly=True, samesite="lax", secure=secure, path="/"
    )
