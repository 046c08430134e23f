"""The gateways context's errors: refused gateway requests, on top of the cloud's hierarchy."""

from __future__ import annotations

from cloud.errors import ApplicationError
from shared.sync.gateway_api import GatewayRefusal, RefusalReason


class GatewayRefused(ApplicationError):
    """A gateway request refused for who sent it or how it was signed: answered 401 with the reason.

    ``reason`` tells the gateway (and whoever reads its log) which check failed; ``detail`` says
    what was expected, never which secret was wrong.
    """

    def __init__(self, reason: RefusalReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail

    def refusal(self) -> GatewayRefusal:
        """The response body naming the reason."""
        return GatewayRefusal(reason=self.reason, detail=self.detail[:1000])
