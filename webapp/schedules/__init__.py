"""Scheduled syncs (SPEC §11): cron and time zones (cron.py), creating and changing
schedules (service.py), firing due times through the job service (firing.py), and the
failure webhook (webhook.py)."""
