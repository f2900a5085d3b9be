"""A client's file name made safe to store and to show: no path, no control characters, bounded."""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_NAME", "clean_name"]

MAX_NAME = 255


def clean_name(raw: str | None, fallback: str = "file") -> str:
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]  # a path's last part only
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")  # control, format, surrogates
    name = name.strip().lstrip(".").strip()  # no hidden files, no `..`
    if not name:
        return fallback
    if len(name) > MAX_NAME:
        _stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 16 else ""
        name = (name[: MAX_NAME - len(keep) - 1] + "." + keep) if keep else name[:MAX_NAME]
    return name
