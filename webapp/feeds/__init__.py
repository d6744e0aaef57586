"""One feed, many units (SPEC §14): an institution-wide sync fetches a year once and
routes each row to the module of the unit its source names, replacing every touched
unit's slice in one transaction."""
