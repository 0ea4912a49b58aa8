"""``studio.sdk.core.authentication``: azureml's authentication classes, accepted as they are.

There is no Azure Active Directory here: whichever class a script builds, it authenticates with
the Studio token (STUDIO_TOKEN, else the token of the workspace this process opened last, else
``.studio/config.json``), so ``auth.get_authentication_header()`` is the header a published
pipeline's REST endpoint accepts.
"""

from __future__ import annotations

from enum import Enum

from studio.sdk import _config
from studio.sdk.exceptions import AuthenticationException


class Audience(Enum):
    ARM = "ARM"
    AZUREML = "AZUREML"


class AbstractAuthentication:
    def __init__(self, cloud: str | None = None):
        self._cloud_type = cloud

    def _token(self) -> str:
        token = _config.studio_token()
        if not token:
            raise AuthenticationException(
                f"{type(self).__name__} has no Studio token to send. " + _config.no_server_message()
            )
        return token

    def get_authentication_header(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <Studio token>"}``."""
        return {"Authorization": f"Bearer {self._token()}"}

    def get_token(self, *scopes, **kwargs) -> str:
        return self._token()


class InteractiveLoginAuthentication(AbstractAuthentication):
    def __init__(self, force: bool = False, tenant_id: str | None = None, cloud: str | None = None):
        super().__init__(cloud)
        self._tenant_id = tenant_id


class AzureCliAuthentication(AbstractAuthentication):
    pass


class ServicePrincipalAuthentication(AbstractAuthentication):
    def __init__(
        self,
        tenant_id: str,
        service_principal_id: str,
        service_principal_password: str,
        cloud: str = "AzureCloud",
        _enable_caching: bool = True,
    ):
        super().__init__(cloud)
        self._tenant_id = tenant_id
        self._service_principal_id = service_principal_id


class MsiAuthentication(AbstractAuthentication):
    def __init__(self, cloud: str | None = None, **kwargs):
        super().__init__(cloud)


class TokenAuthentication(AbstractAuthentication):
    def __init__(self, get_token_for_audience, cloud: str | None = None):
        super().__init__(cloud)
        self._get_token_for_audience = get_token_for_audience


__all__ = [
    "AbstractAuthentication",
    "Audience",
    "AzureCliAuthentication",
    "InteractiveLoginAuthentication",
    "MsiAuthentication",
    "ServicePrincipalAuthentication",
    "TokenAuthentication",
]
