"""The university around the inventories (SPEC §13): units, years, memberships."""
