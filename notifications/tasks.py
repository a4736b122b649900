"""django-q task entry points of notifications: thin adapters (syncjobs.schedule runs them)."""

from notifications import delivery, events


def check_sessions_and_deliver() -> dict[str, int]:
    """The periodic run: write what ended sessions tell, then send whatever is due."""
    return {"sessions": events.find_ended_sessions(), **delivery.deliver_due()}


def deliver_due() -> dict[str, int]:
    """Send what is due now (the test button's message, without waiting for the schedule)."""
    return delivery.deliver_due()
