"""The pipeline tracker's progress throttling, and the interpreter tuning a job runs
under (the runner)."""

import gc
import logging
import sys

from webapp.ingestion import tracker as pipeline_tracker
from webapp.jobs import runner


def test_alternating_phases_are_throttled_together(monkeypatch):
    written: list[tuple[str, int]] = []
    clock = [100.0]
    monkeypatch.setattr(pipeline_tracker.lifecycle, "record_progress",
                        lambda job_id, progress, **_: written.append(
                            (progress["phase"], progress["processed"])))
    monkeypatch.setattr(pipeline_tracker.time, "monotonic", lambda: clock[0])
    tracker = pipeline_tracker.Tracker(1, logging.getLogger("test"))
    tracker.start()
    tracker.progress("validating", fetched=0, processed=0, total=None)
    tracker.progress("fetching", fetched=0, processed=0, total=None)
    for batch in range(1, 51):  # 50 batches within 0.5 s
        clock[0] += 0.01
        tracker.progress("transforming", fetched=batch * 10, processed=(batch - 1) * 10,
                         total=None)
        tracker.progress("loading", fetched=batch * 10, processed=batch * 10, total=None)
    assert written == [("validating", 0), ("fetching", 0), ("transforming", 0),
                       ("loading", 10)]
    clock[0] += pipeline_tracker.PROGRESS_EVERY_S
    tracker.progress("transforming", fetched=510, processed=500, total=None)
    tracker.progress("loading", fetched=510, processed=510, total=None)
    assert written[4:] == [("transforming", 500)]


def test_bulk_work_tuning_is_undone_after_the_job():
    # A worker that runs jobs without forking must be left as it was.
    before, thresholds = sys.getswitchinterval(), gc.get_threshold()
    with runner._tuned_for_bulk_work():
        assert sys.getswitchinterval() == 0.001
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == 10_000
    assert sys.getswitchinterval() == before
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0
