"""The transfer engine: the one place where objects move.

Layers, one way down: integrations (:mod:`uplink_py.fsspec`, :mod:`uplink_py.aio`,
:mod:`uplink_py.loader`, :mod:`uplink_py.cli`) call this engine; it calls the core API
(:class:`uplink_py.Project` and its native transfers). Its modules:

- :mod:`.settings`: defaults (part size, concurrency, chunk) and argument checks;
- :mod:`.tasks`: cancellation scopes, progress, the worker pool;
- :mod:`.projects`: one shared project per process and credentials;
- :mod:`.sources` / :mod:`.uploads`: any readable source, committed only on success;
- :mod:`.conditions`: a write's lock and create-if-absent options;
- :mod:`.deletes`: batch delete, in the satellite's batches, each key's outcome;
- :mod:`.targets` / :mod:`.downloads`: one object version whole, local files atomically;
- :mod:`.writer` / :mod:`.reader`: file objects that upload parts while they are written
  and read ahead in parallel ranges;
- :mod:`.unwinding`: whether a written file is closed by an exception leaving a block
  (abort) or normally (commit).
"""

from .conditions import NO_CONDITIONS, WriteConditions
from .deletes import delete_objects
from .downloads import (
    Pinned,
    download,
    download_bytes,
    download_file,
    download_into,
    download_many,
    pin,
    read_exactly,
    read_range,
)
from .projects import ProjectSource, close_shared_project, shared_project
from .settings import (
    CHUNK,
    DEFAULT_CONCURRENCY,
    DEFAULT_MANY_CONCURRENCY,
    DEFAULT_PART_SIZE,
    MIN_PART_SIZE,
    MiB,
    Tuning,
    non_negative_int,
    positive_int,
)
from .sources import SourceLike, byte_view, file_argument, open_source
from .tasks import CancelScope, Progress, ProgressCallback, Stopped, executor, run_tasks
from .unwinding import Unwinding
from .uploads import Metadata, upload, upload_many
from .reader import ObjectReader
from .writer import ObjectWriter

__all__ = [
    "CHUNK",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MANY_CONCURRENCY",
    "DEFAULT_PART_SIZE",
    "MIN_PART_SIZE",
    "NO_CONDITIONS",
    "CancelScope",
    "ProjectSource",
    "Metadata",
    "MiB",
    "ObjectReader",
    "ObjectWriter",
    "Pinned",
    "Progress",
    "ProgressCallback",
    "SourceLike",
    "Stopped",
    "Tuning",
    "Unwinding",
    "WriteConditions",
    "byte_view",
    "delete_objects",
    "download",
    "download_bytes",
    "download_file",
    "download_into",
    "download_many",
    "executor",
    "file_argument",
    "open_source",
    "pin",
    "non_negative_int",
    "positive_int",
    "read_exactly",
    "read_range",
    "run_tasks",
    "close_shared_project",
    "shared_project",
    "upload",
    "upload_many",
]
