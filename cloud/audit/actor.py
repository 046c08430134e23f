"""Who is acting: every service that changes money or configuration takes an :class:`Actor`."""

from __future__ import annotations

from dataclasses import dataclass

from cloud.errors import ValidationFailed

#: Longest reason kept; a reason is a sentence for the audit trail, not a document.
REASON_MAX_CHARS = 500


@dataclass(frozen=True, slots=True)
class Actor:
    """A person (``user_id``) or the system (``user_id=None``) acting in a role, and why.

    ``role`` is the API's role name (``"platform_admin"``, ``"estate_admin"``, ``"system"``…);
    ``source_address`` is the client's IP address, or a process name for jobs and commands.
    """

    user_id: int | None
    role: str
    source_address: str | None
    reason: str

    def __post_init__(self) -> None:
        if not self.role.strip():
            raise ValidationFailed("actor.role: expected a role name such as 'estate_admin', got ''")
        if len(self.reason) > REASON_MAX_CHARS:
            raise ValidationFailed(
                f"actor.reason: at most {REASON_MAX_CHARS} characters, got {len(self.reason)}"
            )

    @classmethod
    def system(cls, reason: str, source: str = "quantify-cloud") -> Actor:
        """The service itself acting (jobs, commands), with the reason recorded."""
        return cls(user_id=None, role="system", source_address=source, reason=reason)
