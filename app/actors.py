"""Who caused a change, as written into the audit trails (``order_event.actor``, ...)."""

from typing import Final

SYSTEM: Final = "system"
CUSTOMER: Final = "customer"


def staff(staff_id: int) -> str:
    return f"staff:{staff_id}"
