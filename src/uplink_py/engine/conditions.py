"""What a write asks of Storj besides its bytes: a lock on the new version, or that the
key be free (create-if-absent). One value, passed down every upload path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..module_classes import Retention


@dataclass(frozen=True)
class WriteConditions:
    """``retention`` and ``legal_hold`` lock the version written (the bucket needs Object
    Lock); ``if_none_match`` commits it only if the key has no object, else
    :class:`~uplink_py.errors.ObjectExistsError` and nothing is stored. The check is the
    satellite's, at commit: of two racing writers exactly one wins."""

    retention: Optional[Retention] = None
    legal_hold: bool = False
    if_none_match: bool = False

    def __post_init__(self) -> None:
        if self.retention is not None and not isinstance(self.retention, Retention):
            raise TypeError(f"retention must be a Retention or None, not {type(self.retention).__name__}")
        for name in ("legal_hold", "if_none_match"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, not {type(getattr(self, name)).__name__}")

    def all(self) -> dict[str, Any]:
        """Keyword arguments of Project.copy_object and Project.open_writer."""
        return {"retention": self.retention, "legal_hold": self.legal_hold, "if_none_match": self.if_none_match}

    def begin(self) -> dict[str, Any]:
        """Of Project.upload_object and begin_upload: the lock of what they will commit
        (create-if-absent writes are multipart uploads: see uploads.upload)..."""
        return {"retention": self.retention, "legal_hold": self.legal_hold}

    def commit(self) -> dict[str, Any]:
        """...and of commit_upload: the check of the key."""
        return {"if_none_match": self.if_none_match}


NO_CONDITIONS = WriteConditions()
