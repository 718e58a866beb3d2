"""Batch delete: many keys (or versions) of a bucket in the satellite's batches of 1,000,
with each key's outcome."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Union

from ..errors import StorjException
from .tasks import CancelScope, Progress, ProgressCallback

if TYPE_CHECKING:
    from .._core import Project
    from ..module_classes import DeleteResult

DeleteItem = Union[str, "tuple[str, str | None]"]

BATCH = 1000  # the most keys one DeleteObjects request may name (the satellite's limit)


def delete_objects(
    project: Project,
    bucket: str,
    items: Iterable[DeleteItem],
    *,
    bypass_governance: bool = False,
    progress: ProgressCallback | None = None,
    scope: CancelScope | None = None,
) -> list[DeleteResult]:
    """Deletes keys (str) or given versions ((key, version) pairs); returns one
    DeleteResult per item, in order. A key's failure (locked, unauthorized) is its
    result's status, not an exception; a request that fails as a whole raises, with
    ``exc.results`` holding the outcomes of the batches done before it."""
    if isinstance(items, (str, bytes, bytearray, Mapping)):  # list() of these would name other keys
        raise TypeError(f"delete_objects takes an iterable of keys or (key, version) pairs, not a "
                        f"{type(items).__name__}")
    asked = list(items)
    scope = scope or CancelScope()
    reporter = Progress(progress, len(asked))
    results: list[DeleteResult] = []
    for start in range(0, len(asked), BATCH):
        try:
            batch = scope.call(project.delete_objects, bucket, asked[start : start + BATCH],
                               bypass_governance=bypass_governance)
        except StorjException as exc:
            exc.results = results  # type: ignore[attr-defined]
            raise
        results.extend(batch)
        reporter.add(len(batch))
    reporter.finish()
    return results
