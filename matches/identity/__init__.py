"""The identity wing: who a user is and which Steam accounts are theirs.

Sign-in and sign-up with their lockouts (signin.py, account_views.py), Steam's OpenID sign-in
(steam_openid.py, steam_views.py, social.py: social-auth's pipeline), linking and unlinking
accounts (accounts.py, the accounts page and the accounts API endpoint, api.py), the user's
settings, API tokens (api_tokens.py), their forms (forms.py), URLs (urls.py) and templates
(templates/identity/). It stands above the sync engine and the match store: the accounts page
starts syncs; nothing below imports it (the import contracts in pyproject.toml).
"""
