"""Single sign-on with OpenID Connect (SPEC §13): the university's provider says who the
user is (provider.py, through Authlib's client), we find or create the account and read
its memberships from the groups claim (accounts.py)."""
