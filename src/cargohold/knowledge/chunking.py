"""Sections -> chunks of about `max_tokens` tokens, each repeating up to `overlap` tokens of the one
before it, counted with the embedding model's tokenizer.

A chunk never spans two locations: each run of sections with the same location (a page, a sheet,
a heading) is chunked on its own, so every chunk's `location` is exactly where its text is. A short
section makes a short chunk rather than borrowing text from the next page. Text is cut at the
largest boundary that fits: paragraphs, then lines, then sentences, then words (then characters,
for a single "word" longer than a chunk).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ._sections import Section

__all__ = ["Chunk", "chunk_sections"]

_SPLITTERS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\n\s*\n"),  # paragraphs
    re.compile(r"\n"),  # lines
    re.compile(r"(?<=[.!?;:])\s+"),  # sentences
    re.compile(r"\s+"),  # words
)


@dataclass
class Chunk:
    text: str
    location: str | None
    token_count: int


def chunk_sections(
    sections: Iterable[Section], count_tokens: Callable[[str], int], max_tokens: int = 800, overlap: int = 200
) -> list[Chunk]:
    if max_tokens < 1 or not 0 <= overlap < max_tokens:
        raise ValueError("need max_tokens >= 1 and 0 <= overlap < max_tokens")
    chunks: list[Chunk] = []
    for location, text in _group(sections):
        pieces = _pieces(text, count_tokens, max_tokens)
        for piece_texts in _pack(pieces, max_tokens, overlap):
            body = "\n".join(piece_texts).strip()
            if body:
                chunks.append(Chunk(body, location, count_tokens(body)))
    return chunks


def _group(sections: Iterable[Section]) -> list[tuple[str | None, str]]:
    """Consecutive sections of the same location joined (a heading repeated, a page split)."""
    groups: list[tuple[str | None, str]] = []
    for section in sections:
        if groups and groups[-1][0] == section.location:
            groups[-1] = (section.location, groups[-1][1] + "\n\n" + section.text)
        else:
            groups.append((section.location, section.text))
    return groups


def _pieces(text: str, count_tokens: Callable[[str], int], max_tokens: int, level: int = 0) -> list[tuple[str, int]]:
    """`text` as (piece, tokens) pieces of at most `max_tokens`, split at the coarsest boundary."""
    tokens = count_tokens(text)
    if tokens <= max_tokens:
        return [(text, tokens)] if text.strip() else []
    if level == len(_SPLITTERS):
        # One unbroken run longer than a chunk (a base64 blob, a URL list): cut by characters.
        step = max(1, len(text) * max_tokens // (tokens + 1))
        return [
            p for i in range(0, len(text), step) for p in _pieces(text[i : i + step], count_tokens, max_tokens, level)
        ]
    out: list[tuple[str, int]] = []
    for part in _SPLITTERS[level].split(text):
        out.extend(_pieces(part, count_tokens, max_tokens, level + 1))
    return out


def _pack(pieces: list[tuple[str, int]], max_tokens: int, overlap: int) -> list[list[str]]:
    """Greedy packing; each chunk after the first starts with the last pieces of the one before it,
    up to `overlap` tokens (whole pieces only, and never the whole previous chunk)."""
    chunks: list[list[str]] = []
    current: list[tuple[str, int]] = []
    size = 0
    for text, tokens in pieces:
        if current and size + tokens > max_tokens:
            chunks.append([t for t, _ in current])
            carried: list[tuple[str, int]] = []
            carried_size = 0
            for piece in reversed(current[1:]):
                if carried_size + piece[1] > overlap or carried_size + piece[1] + tokens > max_tokens:
                    break
                carried.insert(0, piece)
                carried_size += piece[1]
            current, size = carried, carried_size
        current.append((text, tokens))
        size += tokens
    if current:
        chunks.append([t for t, _ in current])
    return chunks
