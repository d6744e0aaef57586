"""Copy forward (SPEC §13): a year's entries or factors loaded from an earlier year's,
read from this app's own database in batches, through the usual pipeline and sinks."""
