"""DataIngestionJob.info: typed reads of the job's JSONB metadata."""

from webapp.models import DataIngestionJob


def test_keys_read_as_attributes_with_their_defaults():
    info = DataIngestionJob(meta=None).info
    assert (info.kind, info.retry_of, info.undo_of, info.schedule_id) == (None,) * 4
    assert info.dry_run is False and info.rerun_requested is False
    assert info.progress == {} and info.errors == [] and info.errors_total == 0
    assert info.progress is not info.progress  # a fresh empty value each time


def test_stored_values_win_and_the_request_parts_are_reachable():
    job = DataIngestionJob(meta={
        "kind": "preview", "dry_run": True, "errors_total": 0, "undo_until": "2026-12-31",
        "processing_started_at": "2026-12-06T10:00:00+00:00",
        "request": {"config": {"on_error": "skip"}, "filters": {"centre": ["F1"]},
                    "upload": {"id": 7}}})
    info = job.info
    assert info.kind == "preview" and info.dry_run is True and info.errors_total == 0
    assert info.config == {"on_error": "skip"} and info.filters == {"centre": ["F1"]}
    assert info.upload == {"id": 7} and info.undo_until == "2026-12-31"
    assert job.processing_started_at.isoformat() == "2026-12-06T10:00:00+00:00"
