"""``Download``: one object, or a range of it, streamed.

A ``Download`` is also a seekable ``io.RawIOBase`` reader (``readinto``, ``readall``,
``seek``/``tell`` by a ranged re-open of the same object version, ``readable``,
``seekable``, ``closed``): ``io.BufferedReader(download)`` gives a buffered, seekable file
without fsspec. ``read(size)`` keeps uplink-python's ``(bytes, count)`` form.
"""

from ._core import Download

__all__ = ["Download"]
