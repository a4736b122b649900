"""django-q task entry points of notifications: thin adapters (syncjobs.schedule runs them)."""

from matches.notifications import delivery, events


def check_sessions_and_deliver() -> dict[str, int]:
    """The periodic run: write what ended sessions tell, send whatever is due, forget old rows."""
    report = {"sessions": events.find_ended_sessions(), **delivery.deliver_due()}
    delivery.prune()
    return report


def deliver_due() -> dict[str, int]:
    """Send what is due now (the test button's message, without waiting for the schedule)."""
    return delivery.deliver_due()
