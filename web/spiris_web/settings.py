"""Runtime settings of the web component, read from the environment variables fixed in docs/architecture.md.

One frozen dataclass carries everything the app needs (public URL, OAuth client, signing key, Spiris hosts,
Kubernetes access), so the app factory can be handed explicit settings in tests and `from_env` in production.
Derived values — the exact redirect URI, whether cookies must be `Secure` — are computed here once so no
other module re-derives them differently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from spiris_connection import install_settings
from spiris_connection.install_settings import InstallSetting
from spiris_connection.link_keys import LinkKeys, parse_previous

DEFAULT_IDENTITY_URL = "https://identity.vismaonline.com"
DEFAULT_API_URL = "https://eaccountingapi.vismaonline.com/v2"
DEFAULT_PRODUCT_NAME = "Senseworks"


class SettingsError(ValueError):
    """A required setting is missing or malformed (the message names the variable, never its value)."""


@dataclass(frozen=True)
class WebSettings:
    """Everything the web component is configured with."""

    public_url: str
    client_id: str
    client_secret: str
    link_signing_key: str
    #: Keys that signed links before the last rotation: still accepted for verification, never for signing.
    previous_link_signing_keys: tuple[str, ...] = ()
    identity_url: str = DEFAULT_IDENTITY_URL
    api_url: str = DEFAULT_API_URL
    sandbox: bool = False
    redirect_uri: str = ""
    kubeconfig: str | None = None
    product_name: str = DEFAULT_PRODUCT_NAME
    state_ttl_seconds: int = 900

    def __post_init__(self) -> None:
        _check_public_url(self.public_url)
        _check_signing_key(self.link_signing_key)
        _check_previous_keys(self.previous_link_signing_keys)
        if not self.client_id or not self.client_secret:
            raise SettingsError("SPIRIS_CLIENT_ID and SPIRIS_CLIENT_SECRET are required")
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
        object.__setattr__(self, "identity_url", self.identity_url.rstrip("/"))
        if not self.redirect_uri:
            object.__setattr__(self, "redirect_uri", f"{self.public_url}/oauth/callback")

    @property
    def link_keys(self) -> LinkKeys:
        """The signing key and its predecessors, for every token the web signs or verifies."""
        return LinkKeys(current=self.link_signing_key, previous=self.previous_link_signing_keys)

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry `Secure` (and HSTS is sent) exactly when the public URL is https."""
        return self.public_url.startswith("https://")

    @property
    def authorize_url(self) -> str:
        """The one and only external redirect target of the web component."""
        return f"{self.identity_url}/connect/authorize"

    @property
    def identity_origin(self) -> str:
        """scheme://host[:port] of the identity server, for the CSP `form-action` list."""
        return origin_of(self.identity_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebSettings:
        """Read the settings from environment variables (see docs/architecture.md)."""
        source = os.environ if env is None else env

        def required(name: str) -> str:
            value = source.get(name, "")
            if not value:
                raise SettingsError(f"{name} is required")
            return value

        return cls(
            public_url=required("SPIRIS_WEB_PUBLIC_URL"),
            client_id=required("SPIRIS_CLIENT_ID"),
            client_secret=required("SPIRIS_CLIENT_SECRET"),
            link_signing_key=required("SPIRIS_LINK_SIGNING_KEY"),
            previous_link_signing_keys=parse_previous(source.get("SPIRIS_LINK_PREVIOUS_SIGNING_KEYS")),
            identity_url=source.get("SPIRIS_IDENTITY_URL") or DEFAULT_IDENTITY_URL,
            api_url=source.get("SPIRIS_API_URL") or DEFAULT_API_URL,
            sandbox=source.get("SPIRIS_SANDBOX", "").strip().lower() in {"1", "true", "yes"},
            redirect_uri=source.get("SPIRIS_REDIRECT_URI", ""),
            kubeconfig=source.get("KUBECONFIG") or None,
            product_name=source.get("SPIRIS_WEB_PRODUCT_NAME") or DEFAULT_PRODUCT_NAME,
        )


def origin_of(url: str) -> str:
    """scheme://host[:port] of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _check_public_url(value: str) -> None:
    if not value.startswith(("http://", "https://")):
        raise SettingsError("SPIRIS_WEB_PUBLIC_URL must be an absolute http(s) URL")


def _check_signing_key(value: str) -> None:
    if len(value) < 16:
        raise SettingsError("SPIRIS_LINK_SIGNING_KEY must be at least 16 characters")


def _check_previous_keys(keys: tuple[str, ...]) -> None:
    if any(len(key) < 16 for key in keys):
        raise SettingsError("each key in SPIRIS_LINK_PREVIOUS_SIGNING_KEYS needs at least 16 characters")


def missing_settings(env: Mapping[str, str] | None = None) -> tuple[InstallSetting, ...]:
    """The settings a consent needs that the environment leaves empty (the not-configured mode's report).

    Values that are set but malformed raise `SettingsError` here too, even while others are missing: a wrong
    value is a mistake to fix now (exit 2 with a message naming the variable), a missing one is an install
    still being completed.
    """
    source = os.environ if env is None else env
    public_url = source.get(install_settings.PUBLIC_URL.env, "")
    signing_key = source.get(install_settings.LINK_SIGNING_KEY.env, "")
    if public_url:
        _check_public_url(public_url)
    if signing_key:
        _check_signing_key(signing_key)
    _check_previous_keys(parse_previous(source.get("SPIRIS_LINK_PREVIOUS_SIGNING_KEYS")))
    return tuple(setting for setting in install_settings.CONSENT_SETTINGS if not source.get(setting.env))
