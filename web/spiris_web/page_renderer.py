"""Turns an outcome or the consent view into an HTML response in the request's language.

Jinja2 with autoescaping forced on for every template, so company names, display names and anything else
from Spiris or Kubernetes is escaped. The renderer also sets the language cookie when the request switched
language with `?lang=`, and offers templates a `switch_url` that re-renders the same page in the other
language without carrying any OAuth parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from spiris_web.i18n import Translator, remember_language, requested_language
from spiris_web.outcomes import Outcome

TEMPLATES_DIR = Path(__file__).parent / "templates"


def template_environment() -> jinja2.Environment:
    """The Jinja2 environment: package templates, autoescape on for everything, strict undefined values."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class PageRenderer:
    """Renders pages for one product name with one template environment."""

    environment: jinja2.Environment
    product_name: str
    secure_cookies: bool

    def render(
        self,
        request: Request,
        *,
        template: str,
        status_code: int,
        switch_path: str,
        values: Mapping[str, object] | None = None,
        context: Mapping[str, object] | None = None,
    ) -> HTMLResponse:
        """Render `template`; `values` fill text placeholders, `context` goes to the template as is."""
        language, explicit = requested_language(request)
        merged_values: dict[str, object] = {"product": self.product_name, **(values or {})}
        translate = Translator(language=language, values=merged_values)
        html = self.environment.get_template(template).render(
            t=translate,
            lang=language,
            other_lang=translate.other_language,
            product=self.product_name,
            switch_url=f"{_local_path(switch_path)}?lang={translate.other_language}",
            **(context or {}),
        )
        response = HTMLResponse(html, status_code=status_code)
        if explicit:
            remember_language(response, language, secure=self.secure_cookies)
        return response

    def outcome(
        self,
        request: Request,
        outcome: Outcome,
        *,
        switch_path: str,
        values: Mapping[str, object] | None = None,
    ) -> HTMLResponse:
        """The page for `outcome`, with its status code."""
        return self.render(
            request,
            template="outcome.html",
            status_code=outcome.status_code,
            switch_path=switch_path,
            values=values,
            context={"outcome": outcome.value, "success": not outcome.is_failure, "details": values or {}},
        )


def _local_path(path: str) -> str:
    """A path of this site only: ``//evil.example`` or ``/\\evil.example`` (which browsers read as another
    host) collapse to ``/evil.example``, so the language link can never leave the site."""
    return "/" + path.lstrip("/\\")
