"""All HTTP to Zendesk: the client, its auth flows, rate-limit pacing and the error tree.

The public surface is re-exported here; the modules behind it are small and private in spirit:
``client`` (ZendeskClient), ``auth`` (ApiTokenAuth, BearerAuth, OAuthTokenAuth, TokenSet),
``ratelimit`` (buckets and pacing), ``errors`` (ZendeskError and its subclasses) and ``oauth``
(the consent flow).
"""

from .auth import ApiTokenAuth, BearerAuth, OAuthTokenAuth, TokenSet, ZendeskAuth
from .client import ClientStats, Download, ZendeskClient
from .errors import (
    AuthenticationError,
    AuthError,
    BadResponse,
    ConnectionFailed,
    DownloadError,
    DownloadTooLarge,
    InvalidRequest,
    MalwareDetected,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TokenRefreshError,
    UnsafeURL,
    ZendeskError,
)
from .ratelimit import BucketState, buckets_for

__all__ = [
    "ApiTokenAuth",
    "AuthError",
    "AuthenticationError",
    "BadResponse",
    "BearerAuth",
    "BucketState",
    "ClientStats",
    "ConnectionFailed",
    "Download",
    "DownloadError",
    "DownloadTooLarge",
    "InvalidRequest",
    "MalwareDetected",
    "NotFound",
    "OAuthTokenAuth",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "TokenRefreshError",
    "TokenSet",
    "UnsafeURL",
    "ZendeskAuth",
    "ZendeskClient",
    "ZendeskError",
    "buckets_for",
]
