"""The stored entry counts (migration 0006) agree with counting the entries after every
writer: loads, a re-sync, a filtered re-sync, undo; a failed load and a preview change
nothing."""

from __future__ import annotations

import psycopg

TRAVEL = 2
PLANES = b"origin_iata,destination_iata,user_institutional_id,cabin_class,departure_date\n"


def planes(count: int) -> bytes:
    return PLANES + b"".join(b"GVA,ZRH,%d,economy,2025-03-01\n" % n for n in range(count))


def stored(db_url: str) -> dict[tuple, int]:
    with psycopg.connect(db_url) as conn:
        return {(m, t, s): n for m, t, s, n in conn.execute(
            "SELECT module_id, entry_type, source, entries FROM module_entry_counts")}


def counted(db_url: str) -> dict[tuple, int]:
    with psycopg.connect(db_url) as conn:
        return {(m, t, s): n for m, t, s, n in conn.execute(
            "SELECT module_id, entry_type, source, count(*) FROM data_entries GROUP BY 1, 2, 3")}


def load(api, content: bytes | None = None, provider: str = "csv_upload",
         filters: dict | None = None, **config) -> dict:
    response = api.sync(TRAVEL, provider, file=content, config=config or None,
                        filters=filters)
    assert response.status_code == 202, response.get_json()
    final = api.wait(response.get_json()["job_id"])
    assert final["status"] == "completed", final
    return final


def test_counts_follow_loads_resyncs_and_undo(api, db_url, worker):
    assert stored(db_url) == counted(db_url) == {}
    first = load(api, planes(7))
    assert stored(db_url)[(TRAVEL, "plane", "csv_upload")] == 7
    second = load(api, planes(3))  # replaces the slice: 3, not 10
    assert stored(db_url)[(TRAVEL, "plane", "csv_upload")] == 3
    assert stored(db_url) == counted(db_url)
    page = api.get(f"/modules/{TRAVEL}").get_json()["entry_counts"]
    assert {"entry_type": "plane", "source": "csv_upload", "count": 3} in page
    # The entries API's totals: stored counts unless a filter needs the rows themselves.
    for query, total in (("", 3), ("?entry_type=plane", 3), ("?entry_type=train", 0),
                         ("?source=csv_upload", 3), ("?source=tableau_api", 0),
                         (f"?job_id={second['job_id']}", 3), (f"?job_id={first['job_id']}", 0),
                         ("?missing=false&limit=1", 0)):
        listed = api.get(f"/modules/{TRAVEL}/entries{query}").get_json()
        assert listed["total"] == total, query
    undo = api.post(f"/sync/undo/{second['job_id']}")
    assert undo.status_code == 202, undo.get_json()
    assert api.wait(undo.get_json()["job_id"])["status"] == "completed"
    assert stored(db_url)[(TRAVEL, "plane", "csv_upload")] == 7 == first["counts"]["inserted"]
    assert stored(db_url) == counted(db_url)


def test_a_failed_load_or_a_preview_leaves_the_counts(api, db_url, worker):
    load(api, planes(4))
    before = stored(db_url)
    broken = planes(6) + b"GVA,ZRH,9,no-such-cabin,2025-03-01\n"  # the default: fail
    response = api.sync(TRAVEL, "csv_upload", file=broken)
    assert api.wait(response.get_json()["job_id"])["status"] == "failed"
    assert stored(db_url) == before
    preview = load(api, planes(9), dry_run=True)
    assert preview["counts"]["inserted"] == 9
    assert stored(db_url) == before == counted(db_url)


def test_counts_follow_a_filtered_resync(api, db_url, worker, tableau_standin):
    tableau_standin.reset()
    load(api, provider="tableau_api")
    everything = stored(db_url)[(TRAVEL, "plane", "tableau_api")]
    final = load(api, provider="tableau_api", filters={"centre_financier": ["F0892"]})
    assert final["counts"]["deleted"] == final["counts"]["inserted"] > 0
    # Had the replaced rows not been subtracted, the count would have grown by as many.
    assert stored(db_url)[(TRAVEL, "plane", "tableau_api")] == everything
    assert stored(db_url) == counted(db_url)
