"""``Upload`` (one object, streamed) and ``PartUpload`` (one part of a multipart upload).

An ``Upload`` is also an ``io.RawIOBase`` writer (``write``, ``writable``, ``close``), so
``io.BufferedWriter(upload)`` and everything that writes to a binary file work; ``close()``
commits, or aborts while an exception is being handled.
"""

from ._core import PartUpload, Upload

__all__ = ["PartUpload", "Upload"]
