"""A local HR API stand-in (OAuth2 client credentials + paged headcount) for tests and demos."""

from webapp.standalone.hr_standin.server import Client, Faults, HrStandIn, Recorded

__all__ = ["Client", "Faults", "HrStandIn", "Recorded"]
