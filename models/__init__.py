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
    utcnow,
)
from .mail import MailStatus, OutboxMessage
from .property import Building, Estate, ParkingKind, ParkingSpace, Unit, UnitUse, unit_label
from .residents import Occupancy, Relation, Resident, Vehicle

__all__ = [
    "UNUSABLE_PASSWORD",
    "AuditLog",
    "Base",
    "Building",
    "EncryptedText",
    "Estate",
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
    "TimestampMixin",
    "UTCDateTime",
    "Unit",
    "UnitUse",
    "User",
    "Vehicle",
    "field_cipher",
    "install_field_cipher",
    "new_session_token",
    "user_role",
    "unit_label",
    "utcnow",
]
