"""The match list's download form."""

from django import forms


class ExportForm(forms.Form):
    """What the match list's download asks for: which account, which rows, which format."""

    account = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    rows = forms.ChoiceField(
        choices=[("matches", "Matches, one row each"), ("players", "All ten players of each")]
    )
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("jsonl", "JSON Lines")])
