"""What the job engine announces, for features to act on (blinker, which Flask uses).

The engine never names what follows a job: emissions subscribe to `data_committed` to
recalculate; another feature may subscribe to `job_ended`. Receivers run in the worker,
after the job's final state is committed, with the job's id as the sender; whatever a
receiver raises is logged and never changes how the job ended.
"""

from __future__ import annotations

import logging

from blinker import Namespace

log = logging.getLogger("webapp.jobs")
_signals = Namespace()

# A job whose kind changes stored data completed and committed (loads, undos).
data_committed = _signals.signal("data-committed")
# Any job reached a final state (completed, failed, cancelled) in a worker.
job_ended = _signals.signal("job-ended")
# A worker's reaper finished a round (every REAPER_INTERVAL_S): features' own upkeep.
reaper_round = _signals.signal("reaper-round")


def announce(signal, job_id: int, **kwargs) -> None:
    """Send `signal`; a receiver's failure is logged, never raised into the worker."""
    for receiver in signal.receivers_for(job_id):
        try:
            receiver(job_id, **kwargs)
        except Exception:  # noqa: BLE001 - the job has ended whatever a receiver does
            log.exception("a receiver of %s failed for job %s", signal.name, job_id,
                          extra={"job_id": job_id})
