"""Database models, one file per aggregate. Import from here."""

from webapp.models.accounts import ApiToken, User
from webapp.models.audit import AuditEntry
from webapp.models.entries import DataEntry, EmissionFactor, ModuleEntryCount
from webapp.models.inventory import FactorType, Inventory, Module
from webapp.models.jobs import DataIngestionJob, IngestionRowError, TargetType
from webapp.models.organisation import UNIT_ROLES, InventoryYear, Membership, Unit
from webapp.models.schedules import ScheduleRun, SyncSchedule
from webapp.models.undo import ReplacedEntry, ReplacedFactor, ReplacedUnit
from webapp.models.uploads import Upload, UploadChunk

__all__ = [
    "ApiToken", "AuditEntry", "DataEntry", "DataIngestionJob", "EmissionFactor", "FactorType",
    "IngestionRowError", "Inventory", "Module", "ModuleEntryCount", "Upload", "UploadChunk", "User",
    "ScheduleRun", "SyncSchedule", "ReplacedEntry", "ReplacedFactor", "ReplacedUnit", "TargetType",
    "InventoryYear", "Membership", "Unit", "UNIT_ROLES",
]
