"""``Upload`` (one object, streamed) and ``PartUpload`` (one part of a multipart upload)."""

from ._core import PartUpload, Upload

__all__ = ["PartUpload", "Upload"]
