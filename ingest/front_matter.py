"""Page metadata wherever a doc writer puts it, read so that doubt means internal.

Recognised: YAML front matter (``---`` ... ``---`` or ``...``), TOML front matter
(``+++`` ... ``+++``) and HTML ``<meta name=... content=...>`` tags, after a BOM, blank
lines or HTML comments. Keys match case-insensitively. Whatever *looks* like metadata
but cannot be read (an unclosed block, invalid YAML/TOML, a misspelled ``visiblity:``,
a visibility line outside the block) is a *problem*: the page is then ingested as
internal, and the problem is reported with the file's path. All scanning here is plain
string work or bounded regexes, so no input can make it slow.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from html.parser import HTMLParser

import yaml
from rapidfuzz.distance import Levenshtein

# Keys this reader acts on; the rest (description, slug, tags, ...) are carried along.
ACCESS_KEYS = ("visibility", "groups")
# Front matter flags that mean "not for customers" in common docs tools.
PRIVATE_FLAGS = ("draft", "private", "internal", "confidential")
MAX_FRONT_MATTER = 64 * 1024  # a block this large is a mistake or an attack, not metadata
_KEY_LINE = re.compile(r"[ \t]{0,8}[\"']?([A-Za-z][A-Za-z0-9_ -]{0,40}?)[\"']?[ \t]{0,8}[:=]")
_SCAN_LINES = 30  # how far into the body a stray "visibility:" line is looked for


@dataclass(slots=True)
class Metadata:
    """What a page says about itself: fields with lower-cased keys, its body, and problems."""

    fields: dict[str, object] = field(default_factory=dict)
    body: str = ""
    problems: list[str] = field(default_factory=list)
    source: str = ""  # yaml | toml | html meta | "" (none found)


def near_access_key(key: str) -> str | None:
    """The access key that ``key`` looks like a misspelling of (``visiblity``, ``group``), if any."""
    norm = key.strip().lower().replace("_", "").replace("-", "").replace(" ", "")
    if norm in ACCESS_KEYS:
        return None
    for wanted, limit in (("visibility", 3), ("groups", 2)):
        if Levenshtein.distance(norm, wanted, score_cutoff=limit) <= limit:
            return wanted
    return None


def _skip_preamble(text: str) -> int:
    """Offset of the first line that is not blank and not inside a leading HTML comment."""
    pos = 0
    while pos < len(text):
        rest = text[pos:pos + 4]
        if text[pos] in " \t\r\n\ufeff":
            pos += 1
        elif rest == "<!--":
            end = text.find("-->", pos + 4)
            if end < 0:
                return pos
            pos = end + 3
        else:
            return pos
    return pos


def _block(text: str, start: int, closers: tuple[str, ...]) -> tuple[str, int] | None:
    """(inner text, end offset) of a fenced block whose opening line starts at ``start``."""
    line_end = text.find("\n", start)
    if line_end < 0:
        return None
    pos = line_end + 1
    while pos <= len(text):
        nl = text.find("\n", pos)
        line = text[pos:] if nl < 0 else text[pos:nl]
        if line.strip() in closers:
            return text[line_end + 1:pos], (len(text) if nl < 0 else nl + 1)
        if nl < 0:
            break
        pos = nl + 1
    return None


def _fields(data: object, where: str, problems: list[str]) -> dict[str, object]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(f"{where} is not a mapping of keys to values")
        return {}
    out: dict[str, object] = {}
    for key, value in data.items():
        name = str(key).strip().lower()
        if name in out and out[name] != value:
            problems.append(f"{where} sets {name!r} twice with different values")
        out[name] = value
        near = near_access_key(name)
        if near:
            problems.append(f"{where} has an unknown key {str(key)!r} that looks like {near!r}")
    return out


class _MetaTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            values = {k.lower(): (v or "") for k, v in attrs}
            name = values.get("name") or values.get("property") or ""
            if name:
                self.meta.append((name.strip().lower().removeprefix("docent:"), values.get("content", "")))


def _html_meta(text: str, problems: list[str]) -> dict[str, object]:
    parser = _MetaTags()
    parser.feed(text)
    parser.close()
    out: dict[str, object] = {}
    for name, content in parser.meta:
        if name in ACCESS_KEYS or name == "title":
            if name in out and out[name] != content:
                problems.append(f"HTML meta {name!r} is given twice with different values")
            out[name] = content
        elif near := near_access_key(name):
            problems.append(f"HTML meta {name!r} looks like {near!r}")
    return out


def _metadata_paragraph(body: str, problems: list[str]) -> None:
    """A leading paragraph of ``Key: value`` lines naming an access key is unfenced metadata.

    (MultiMarkdown and Pandoc style.) Only a paragraph made *entirely* of such lines
    counts, so prose that starts "Visibility: who can see a stream" is left alone.
    """
    start = _skip_preamble(body)
    lines = body[start:].split("\n", _SCAN_LINES)[:_SCAN_LINES]
    keys: list[str] = []
    for line in lines:
        if not line.strip():
            break
        m = _KEY_LINE.match(line[:200])
        if m is None:
            return
        keys.append(m.group(1).strip())
    for key in keys:
        if key.lower() in ACCESS_KEYS or near_access_key(key):
            problems.append(f"a {key!r} line outside front matter (unfenced metadata)")
            return


def read_metadata(text: str, kind: str) -> Metadata:
    """Metadata and body of a page of ``kind`` (markdown | html | text)."""
    meta = Metadata(body=text)
    start = _skip_preamble(text)
    nl = text.find("\n", start)
    first = (text[start:] if nl < 0 else text[start:nl]).strip()
    if first in ("---", "+++"):
        block = _block(text, start, ("---", "...") if first == "---" else ("+++",))
        if block is None:
            meta.problems.append("front matter block is not closed")
            meta.body = text[start:]
        elif len(block[0]) > MAX_FRONT_MATTER:
            meta.problems.append(f"front matter is larger than {MAX_FRONT_MATTER // 1024} KiB")
            meta.body = text[block[1]:]
        else:
            meta.body = text[block[1]:]
            meta.source = "yaml" if first == "---" else "toml"
            meta.fields = _parse(block[0], meta.source, meta.problems)
    if kind == "html":
        tags = _html_meta(meta.body, meta.problems)
        if tags:
            meta.source = meta.source or "html meta"
            for key, value in tags.items():
                if key in meta.fields and meta.fields[key] != value:
                    meta.problems.append(f"front matter and HTML meta disagree on {key!r}")
                meta.fields.setdefault(key, value)
    elif not meta.source and not meta.problems:
        _metadata_paragraph(meta.body, meta.problems)
    return meta


def _parse(inner: str, source: str, problems: list[str]) -> dict[str, object]:
    if source == "toml":
        try:
            return _fields(tomllib.loads(inner), "TOML front matter", problems)
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"TOML front matter does not parse ({exc})")
            return {}
    try:
        return _fields(yaml.safe_load(inner), "front matter", problems)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark else ""
        problems.append(f"front matter is not valid YAML{where}")
        return {}
