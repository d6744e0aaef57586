"""Emissions: every data entry's kg CO2eq from the stored factors (SPEC §10).

    rules.py          one declaration per entry type: quantity, factor choice, formula
    statements.py     the set-based SQL assembled from the rules
    recalculation.py  recalculate_module(conn, module_id): one transaction, summary too
    summary.py        module_emissions / inventory_emissions: the read side, O(1)
    airports.py       the airports table, filled from the pinned airportsdata package
"""

from webapp.emissions.recalculation import Recalculation, UnknownModule, recalculate_module
from webapp.emissions.rules import RULES, EmissionRule
from webapp.emissions.summary import inventory_emissions, module_emissions

__all__ = ["RULES", "EmissionRule", "Recalculation", "UnknownModule", "inventory_emissions",
           "module_emissions", "recalculate_module"]
