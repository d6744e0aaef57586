"""Standalone mode (`make run`, `make demo`): private PostgreSQL and Redis from wheels,
the launcher that starts them with the web app and a worker, and the Tableau stand-in."""
