"""What a real install must set before a consent can happen, named as a person sets it: by Helm chart value.

The chart installs and lints with its default values, so the web and the operator start without a public URL,
an OAuth client or a link-signing key and report what is missing instead of failing. Both name each gap the
same way — the environment variable the component reads and the chart value (for a Secret: the value naming
the Secret and the one naming its key, with their defaults) that fills it — so this table exists once, here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "CONSENT_SETTINGS",
    "LINK_SIGNING_KEY",
    "PUBLIC_URL",
    "InstallSetting",
]


@dataclass(frozen=True)
class InstallSetting:
    """One setting: its environment variable and the chart value(s) behind it.

    A plain value (``publicUrl``) has only ``value``; a Secret key has ``value`` naming the Secret (default
    ``secret``) and ``key_value`` naming its key (default ``key``).
    """

    env: str
    value: str
    secret: str = ""
    key_value: str = ""
    key: str = ""

    @property
    def where(self) -> str:
        """Where a person sets it, as a phrase for messages."""
        if not self.secret:
            return f"the Helm chart value {self.value}"
        return (
            f"the key named by the chart value {self.key_value} (default {self.key}) of the Secret named by "
            f"{self.value} (default {self.secret})"
        )

    def as_json(self) -> dict[str, str]:
        """The machine-readable form (the web's /readyz body)."""
        fields = {"env": self.env, "value": self.value}
        if self.secret:
            fields |= {"secret": self.secret, "keyValue": self.key_value, "key": self.key}
        return fields


PUBLIC_URL = InstallSetting(env="SPIRIS_WEB_PUBLIC_URL", value="publicUrl")
CLIENT_ID = InstallSetting(
    env="SPIRIS_CLIENT_ID",
    value="spiris.oauthClient.existingSecret",
    secret="spiris-oauth-client",
    key_value="spiris.oauthClient.clientIdKey",
    key="client-id",
)
CLIENT_SECRET = InstallSetting(
    env="SPIRIS_CLIENT_SECRET",
    value="spiris.oauthClient.existingSecret",
    secret="spiris-oauth-client",
    key_value="spiris.oauthClient.clientSecretKey",
    key="client-secret",
)
LINK_SIGNING_KEY = InstallSetting(
    env="SPIRIS_LINK_SIGNING_KEY",
    value="linkSigningKey.existingSecret",
    secret="spiris-link-signing-key",
    key_value="linkSigningKey.key",
    key="signing-key",
)
#: Everything a consent needs, in the order a person would set it.
CONSENT_SETTINGS = (PUBLIC_URL, CLIENT_ID, CLIENT_SECRET, LINK_SIGNING_KEY)
