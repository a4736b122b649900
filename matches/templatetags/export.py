from django import template

from matches.forms import ExportForm
from matches.models import SteamAccount

register = template.Library()


@register.inclusion_tag("matches/_export_form.html")
def export_form(account: SteamAccount) -> dict:
    """The download form for one account's export (its choices are ExportForm's)."""
    form = ExportForm(initial={"account": account.account_id}, auto_id="export-%s")
    return {"account": account, "form": form}
