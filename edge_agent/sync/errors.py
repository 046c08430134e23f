"""What can go wrong talking to the cloud: away (retry later), refused (a person must act), or nonsense.

Every refusal reason the cloud names (``shared.sync.gateway_api.RefusalReason``) has its own error
class, so the log says exactly what to fix: re-enrol, fix the clock, check the key file.
"""

from __future__ import annotations

from edge_agent.errors import EdgeError
from shared.sync.gateway_api import RefusalReason


class SyncClientError(EdgeError):
    """Base of every sync-client failure."""


class CloudUnavailable(SyncClientError):
    """The cloud could not be reached or answered 5xx/429: retried with backoff, nothing lost."""


class CloudProtocolError(SyncClientError):
    """The cloud answered something the protocol does not allow (a bad body, an impossible ack)."""


class CloudRefused(SyncClientError):
    """The cloud refused a signed request (401 with a ``GatewayRefusal``); ``reason`` says why."""

    reason: RefusalReason = RefusalReason.MALFORMED
    #: What the person reading the log should do about it.
    remedy = "check the agent's version and the request it logged"

    def __init__(self, detail: str) -> None:
        super().__init__(f"cloud refused the request ({self.reason}): {detail}; {self.remedy}")
        self.detail = detail


class MalformedRequest(CloudRefused):
    reason = RefusalReason.MALFORMED


class UnknownGateway(CloudRefused):
    reason = RefusalReason.UNKNOWN_GATEWAY
    remedy = "the cloud does not know this gateway id: enrol it (quantify-provision gateway enrol)"


class RevokedGateway(CloudRefused):
    reason = RefusalReason.REVOKED_GATEWAY
    remedy = "this gateway's key was revoked (re-enrolled elsewhere, or by an admin): enrol it again"


class BadSignature(CloudRefused):
    reason = RefusalReason.BAD_SIGNATURE
    remedy = "the key file does not match the key the cloud enrolled: check [cloud] key_file, or re-enrol"


class StaleTimestamp(CloudRefused):
    reason = RefusalReason.STALE_TIMESTAMP
    remedy = "the gateway's clock is more than 5 minutes off: fix NTP on the gateway"


class BadEnrolmentCode(CloudRefused):
    reason = RefusalReason.BAD_ENROLMENT_CODE
    remedy = "the code is unknown, used or expired: ask an admin for a new enrolment code"


_CLASSES = (MalformedRequest, UnknownGateway, RevokedGateway, BadSignature, StaleTimestamp, BadEnrolmentCode)
REFUSALS: dict[RefusalReason, type[CloudRefused]] = {cls.reason: cls for cls in _CLASSES}
assert set(REFUSALS) == set(RefusalReason), "every refusal reason needs its own error class"
