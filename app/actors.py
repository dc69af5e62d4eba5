"""Who caused a change, as written into the audit trails (``order_event.actor``, ...)."""

from typing import Final

SYSTEM: Final = "system"
CUSTOMER: Final = "customer"
# Whoever runs the chatcart CLI on the server (the shop's operator).
OPERATOR: Final = "operator"


def staff(staff_id: int) -> str:
    return f"staff:{staff_id}"


def gateway(provider: str) -> str:
    """A payment gateway, for what its webhooks and answers change (``gateway:stripe``)."""
    return f"gateway:{provider}"
