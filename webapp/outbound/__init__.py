"""Outbound calls to URLs a user chose (a schedule's failure webhook; any provider URL a
user may set later). SPEC §12 (continued): they go only to public addresses, checked at
request time and again at send time (addresses.py, destinations.py), over a connection to
the very address that was checked, never following redirects (pinned.py)."""
