"""WebDataset shards on Storj: ``sj://`` URLs for ``webdataset``'s opener.

::

    import webdataset as wds
    import uplink_py.wds

    uplink_py.wds.register(grant)            # or leave it out: STORJ_ACCESS is read
    dataset = wds.WebDataset("sj://bucket/shards/train-{000000..000099}.tar", shardshuffle=100)

A shard read this way is an :class:`~uplink_py.engine.ObjectReader` (one version, ranges in
flight ahead of the tar reader); ``wds.TarWriter("sj://...")`` writes through an
:class:`~uplink_py.engine.ObjectWriter` (parts upload while the shard is written; the
shard is committed when the writer closes). Without registering, webdataset's ``pipe:``
route works too: ``"pipe:uplink-py cat sj://bucket/shards/train-000000.tar"``.

``register`` changes webdataset's scheme table in this process only: in DataLoader
worker processes started by ``spawn`` or ``forkserver`` call it at import time of your
module (or in ``worker_init_fn``); each process opens its own project on first use.
"""

from __future__ import annotations

import io
import os
from functools import partial
from typing import Any

from . import engine
from .credentials import AccessLike, Credentials

__all__ = ["open_url", "register"]

SCHEMES = ("sj", "storj")


def _split(url: str) -> tuple[str, str]:
    scheme, sep, rest = url.partition("://")
    bucket, _, key = rest.partition("/")
    if scheme not in SCHEMES or not sep or not bucket or not key:
        raise ValueError(f"{url!r} is not an object URL (sj://BUCKET/KEY)")
    return bucket, key


def _credentials(access: AccessLike | Credentials | None) -> Credentials:
    if isinstance(access, Credentials):
        return access
    if access is None:
        access = os.environ.get("STORJ_ACCESS")
        if not access:
            raise ValueError("no Storj credentials: pass register(access) or set STORJ_ACCESS")
    return Credentials.of(access)


def open_url(url: str, mode: str = "rb", bufsize: int = 8192, *, access: AccessLike | Credentials | None = None,
             **_: Any) -> io.BufferedIOBase:
    """``sj://BUCKET/KEY`` opened for reading (``rb``) or writing (``wb``), as webdataset's
    openers are called (``bufsize`` and other keywords are webdataset's and ignored)."""
    bucket, key = _split(url)
    project = engine.shared_project(_credentials(access))
    if mode == "rb":
        return io.BufferedReader(engine.ObjectReader(project, bucket, key), buffer_size=engine.CHUNK)
    if mode == "wb":
        return engine.ObjectWriter(project, bucket, key)
    raise ValueError(f"mode must be 'rb' or 'wb', not {mode!r}")


def register(access: AccessLike | None = None) -> None:
    """Makes ``webdataset`` open ``sj://`` and ``storj://`` URLs with :func:`open_url`
    (credentials: ``access``, else ``STORJ_ACCESS`` when a URL is opened)."""
    from importlib import import_module

    gopen = import_module("webdataset.gopen")  # the module: the package's `gopen` name is its function
    credentials = _credentials(access) if access is not None else None
    for scheme in SCHEMES:
        gopen.gopen_schemes[scheme] = partial(open_url, access=credentials)
