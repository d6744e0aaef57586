"""An HTTP POST to an address that was just checked, not to whatever the name resolves to
next: urllib3's connection pools are opened on the IP itself, while the Host header, the
TLS server name (SNI) and the certificate check use the URL's host. So DNS answering
differently between the check and the connection (rebinding) changes nothing.

urllib3 is used directly rather than through requests: nothing here follows redirects,
reads proxy variables or .netrc, or turns URL userinfo into an Authorization header, so
there is nothing to switch off.
"""

from __future__ import annotations

import urllib3
from requests.certs import where as ca_bundle  # the CA bundle requests verifies against
from urllib3.util.retry import Retry

from webapp.outbound.addresses import IPAddress
from webapp.outbound.destinations import Destination

TIMEOUT = urllib3.Timeout(connect=3, read=5)
# 429 and 5xx answers are retried; an address that refuses the connection is not (the
# caller moves on to the host's next address). A receiver asking to wait longer than
# RETRY_AFTER_MAX_S is not waited for: deliveries share one thread.
RETRY_AFTER_MAX_S = 10
RETRIES = Retry(total=3, connect=0, backoff_factor=0.5, redirect=False,
                status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None,
                raise_on_status=False, retry_after_max=RETRY_AFTER_MAX_S)


def post_json(where: Destination, address: IPAddress, body: bytes, *,
              ca_certs: str | None = None) -> int:
    """POST `body` (JSON) to `where` over a connection to `address`; the answer's status.
    A redirect is returned as it came (3xx), never followed.

    `ca_certs` replaces the CA bundle for https (tests trust their own certificate).

    Raises:
        urllib3.exceptions.HTTPError: no connection, TLS or certificate failure, timeout.
    """
    if where.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            str(address), where.port, timeout=TIMEOUT, retries=RETRIES, maxsize=1,
            cert_reqs="CERT_REQUIRED", ca_certs=ca_certs or ca_bundle(),
            server_hostname=where.host, assert_hostname=where.host)
    else:
        pool = urllib3.HTTPConnectionPool(str(address), where.port, timeout=TIMEOUT,
                                          retries=RETRIES, maxsize=1)
    with pool:
        response = pool.urlopen(
            "POST", where.target, body=body, redirect=False, preload_content=False,
            headers={"Host": where.host_header, "Content-Type": "application/json",
                     "User-Agent": "carbon-sync-webhook"})
        response.close()  # the receiver's body is not needed (and could be endless)
        return response.status
