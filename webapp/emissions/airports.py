"""The airports table: coordinates the plane rule measures great-circle distances with.

Copied from the pinned `airportsdata` package (an offline database of the world's
airports) the first time a recalculation needs it, and again whenever the installed
package's version differs from the one stored beside the rows, so an upgrade of the
pin is picked up without a migration.
"""

from __future__ import annotations

import airportsdata
import psycopg

SOURCE = f"airportsdata {airportsdata.__version__}"
# Any constant shared by every process: two recalculations that both find the table out
# of date fill it one after the other, not twice at once.
_LOCK = 0x41495250  # "AIRP"


def ensure_airports(conn: psycopg.Connection) -> int:
    """Fill or refresh the airports table if it does not hold this package version.

    Runs inside the caller's transaction (the refresh is visible to others on commit).

    Returns:
        The number of airports written (0 when the table was already current).
    """
    if _current(conn):
        return 0
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
    if _current(conn):  # filled by another process while this one waited
        return 0
    conn.execute("DELETE FROM airports")
    written = 0
    with conn.cursor().copy(
            "COPY airports (iata, name, country, lat, lon, source) FROM STDIN") as copy:
        for code, airport in airportsdata.load("IATA").items():
            if len(code) == 3:
                copy.write_row((code, airport["name"][:200], airport["country"][:2],
                                airport["lat"], airport["lon"], SOURCE))
                written += 1
    return written


def _current(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM airports WHERE source = %s)",
                        (SOURCE,)).fetchone()[0]
