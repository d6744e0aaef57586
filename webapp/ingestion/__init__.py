"""The ingestion engine: job states, the service layer that owns them, providers, loading."""
