from django.conf import settings
from django.http import HttpRequest

from matches.choice import NavigationAccount


def demo_mode(request: HttpRequest) -> dict[str, bool]:
    """Lets every page show the "demo data" banner when the simulator is the upstream."""
    return {"demo_mode": settings.DEMO_MODE}


def navigation_account(request: HttpRequest) -> dict[str, NavigationAccount]:
    """The account the navigation's links to account pages carry (matches.choice)."""
    return {"navigation_account": NavigationAccount(request)}
