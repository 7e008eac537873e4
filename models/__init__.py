"""Declarative SQLAlchemy models, one module per domain, re-exported here."""

from .accounts import (
    UNUSABLE_PASSWORD,
    Role,
    RolePermission,
    StaffEstate,
    User,
    new_session_token,
    user_role,
)
from .audit import AuditLog
from .base import (
    Base,
    EncryptedText,
    ScaledDecimal,
    TimestampMixin,
    UTCDateTime,
    field_cipher,
    install_field_cipher,
    str_enum,
    utcnow,
)
from .mail import MailStatus, OutboxMessage
from .property import Building, Estate, ParkingKind, ParkingSpace, Unit, UnitUse, unit_label
from .residents import Occupancy, Relation, Resident, Vehicle
from .scope import (
    GLOBAL,
    Custom,
    EstateColumn,
    EstateScope,
    Through,
    UndeclaredScope,
    check_declared,
    row_estate,
    scope_of,
)

__all__ = [
    "GLOBAL",
    "UNUSABLE_PASSWORD",
    "AuditLog",
    "Base",
    "Building",
    "Custom",
    "EncryptedText",
    "Estate",
    "EstateColumn",
    "EstateScope",
    "MailStatus",
    "Occupancy",
    "OutboxMessage",
    "ParkingKind",
    "ParkingSpace",
    "Relation",
    "Resident",
    "Role",
    "RolePermission",
    "ScaledDecimal",
    "StaffEstate",
    "Through",
    "TimestampMixin",
    "UTCDateTime",
    "UndeclaredScope",
    "Unit",
    "UnitUse",
    "User",
    "Vehicle",
    "check_declared",
    "field_cipher",
    "install_field_cipher",
    "new_session_token",
    "row_estate",
    "scope_of",
    "str_enum",
    "user_role",
    "unit_label",
    "utcnow",
]
