"""Uploads: one object from any source, as one stream or parallel parts.

The commit rule, everywhere: an object is committed only after every byte of its source
was written without error and the source proved unchanged; an exception, a
cancellation or a changed source aborts it (a multipart upload too), so the object that
was under the key before stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Union

from ..module_classes import CommitUploadOptions, CustomMetadata, Object, UploadOptions
from .conditions import NO_CONDITIONS, WriteConditions
from .settings import MIN_PART_SIZE, Tuning
from .sources import Source, SourceLike, open_source
from .tasks import CancelScope, Progress, ProgressCallback, run_tasks

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .._core import Project

Metadata = Union[CustomMetadata, "Mapping[str, str]", None]


def upload(
    project: Project,
    bucket: str,
    key: str,
    source: Source | SourceLike,
    *,
    options: UploadOptions | None = None,
    metadata: Metadata = None,
    tuning: Tuning = Tuning(),
    progress: ProgressCallback | None = None,
    scope: CancelScope | None = None,
    conditions: WriteConditions = NO_CONDITIONS,
) -> Object:
    """Uploads ``source`` (a buffer, a local path, a binary file object or an opened
    Source) as the object ``bucket/key``; returns its info once committed."""
    if not isinstance(source, Source):
        with open_source(source) as opened:
            return upload(project, bucket, key, opened, options=options, metadata=metadata, tuning=tuning,
                          progress=progress, scope=scope, conditions=conditions)
    scope = scope or CancelScope()
    # A commit the satellite may refuse goes as a multipart upload, whose id the engine has
    # and aborts: uplink cannot abort a single upload whose commit failed (it never deletes
    # the pending object; for a small one begin and commit go in one batch). Refused are a
    # create-if-absent write that lost its race, and custom metadata over the satellite's
    # limit (2 KiB encrypted by default), found only at the commit. (Small metadata keeps
    # the single upload: a multipart one takes about twice as long for a small object.)
    if needs_abortable_commit(metadata, conditions) and source.size is None:
        return _upload_unsized(project, bucket, key, source, options, metadata, tuning, progress, scope, conditions)
    if source.size is not None and (tuning.parallel(source.size) or needs_abortable_commit(metadata, conditions)):
        return _upload_parts(project, bucket, key, source, source.size, options, metadata, tuning, progress, scope,
                             conditions)
    reporter = Progress(progress, source.size or 0)
    stream = scope.call(project.upload_object, bucket, key, options, **conditions.begin())
    with scope.track(stream), stream:  # commits at the end of the block, aborts if it raises
        if metadata is not None:
            stream.set_custom_metadata(metadata)
        for chunk in source.stream():
            reporter.add(stream.write(chunk))
        source.verify()
    reporter.finish()
    return stream.info()


# Custom metadata of at most this many bytes (keys and values) cannot exceed the
# satellite's default limit of 2 KiB once encoded and encrypted (a few bytes per entry
# and 16 per object more): its commit is not refused for its size.
SAFE_METADATA_BYTES = 1024


def parts_for(metadata: Metadata, conditions: WriteConditions, tuning: Tuning) -> Tuning:
    """The tuning of a multipart upload: one the engine chose for its abortable commit
    (see upload), not the caller, gets parts of Storj's minimum size at least."""
    if tuning.part_size >= MIN_PART_SIZE or not needs_abortable_commit(metadata, conditions):
        return tuning
    return Tuning(tuning.max_concurrency, MIN_PART_SIZE)


def needs_abortable_commit(metadata: Metadata, conditions: WriteConditions) -> bool:
    """Whether the write goes as a multipart upload whatever its size (see upload)."""
    if conditions.if_none_match:
        return True
    if metadata is None:
        return False
    try:
        pairs = [(e.key, e.value) for e in metadata] if isinstance(metadata, CustomMetadata) else metadata.items()
        size = sum(len(k.encode("utf-8", "surrogateescape")) + len(v.encode("utf-8", "surrogateescape"))
                   for k, v in pairs)
    except (AttributeError, TypeError):  # not metadata: the upload call says so
        return False
    return size > SAFE_METADATA_BYTES


def _upload_parts(
    project: Project,
    bucket: str,
    key: str,
    source: Source,
    size: int,
    options: UploadOptions | None,
    metadata: Metadata,
    tuning: Tuning,
    progress: ProgressCallback | None,
    scope: CancelScope,
    conditions: WriteConditions,
) -> Object:
    reporter = Progress(progress, size)
    tuning = parts_for(metadata, conditions, tuning)
    upload_id = scope.call(project.begin_upload, bucket, key, options, abort_on_close=True,
                           **conditions.begin()).upload_id

    def put(number: int, offset: int, length: int) -> None:
        part = scope.call(project.upload_part, bucket, key, upload_id, number)
        with scope.track(part), part:
            for chunk in source.chunks(offset, length):
                reporter.add(part.write(chunk))

    try:
        tasks = [partial(put, n, o, ln) for n, (o, ln) in enumerate(tuning.ranges(0, size), start=1)]
        run_tasks(tasks, tuning.max_concurrency, scope)
        source.verify()
        info = scope.call(project.commit_upload, bucket, key, upload_id, CommitUploadOptions(metadata),
                          **conditions.commit())
    except BaseException:
        try:
            project.abort_upload(bucket, key, upload_id)  # cleanup: also when cancelled
        except Exception:  # the original error says more
            pass
        raise
    reporter.finish()
    return info


def _upload_unsized(
    project: Project,
    bucket: str,
    key: str,
    source: Source,
    options: UploadOptions | None,
    metadata: Metadata,
    tuning: Tuning,
    progress: ProgressCallback | None,
    scope: CancelScope,
    conditions: WriteConditions,
) -> Object:
    """A source of unknown size (a pipe) through an ObjectWriter: parts as they fill."""
    from .writer import ObjectWriter  # the writer builds on this module

    reporter = Progress(progress, 0)
    with scope.active():  # the writer's scope is a child: cancelling ours stops it
        writer = ObjectWriter(project, bucket, key, options=options, metadata=metadata, tuning=tuning,
                              conditions=conditions)
    with writer:
        for chunk in source.stream():
            reporter.add(writer.write(chunk))
        source.verify()
    reporter.finish()
    assert writer.info is not None
    return writer.info


def upload_many(
    project: Project,
    bucket: str,
    items: Iterable[tuple[str, SourceLike]],
    *,
    options: UploadOptions | None = None,
    max_concurrency: int,
    progress: ProgressCallback | None = None,
    scope: CancelScope | None = None,
    conditions: WriteConditions = NO_CONDITIONS,
) -> list[Object]:
    """Uploads (key, source) pairs, each as one stream, ``max_concurrency`` at a time;
    progress counts objects. The first failure stops the rest (those committed stay)."""
    pairs = list(items)
    scope = scope or CancelScope()
    reporter = Progress(progress, len(pairs))
    single = Tuning(max_concurrency=1)

    def put(key: str, source: SourceLike) -> Object:
        info = upload(project, bucket, key, source, options=options, tuning=single, scope=scope,
                      conditions=conditions)
        reporter.add(1)
        return info

    results = run_tasks([partial(put, k, s) for k, s in pairs], max_concurrency, scope)
    reporter.finish()
    return results
