"""A local Tableau stand-in (REST sign-in + VizQL Data Service) for tests and demos."""

from webapp.standalone.tableau_standin.server import Faults, Identity, Recorded, StandIn

__all__ = ["Faults", "Identity", "Recorded", "StandIn"]
