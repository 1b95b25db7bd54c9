"""Turn a YAML or JSON file into plain data plus the source position of every node, safely."""

from __future__ import annotations

import gc
import hashlib
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO, Final, NamedTuple, Protocol

import yaml
from yaml.error import Mark, MarkedYAMLError, YAMLError
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner, ScannerError
from yaml.tokens import ScalarToken

from reconciler.errors import InputError, SegpubError
from reconciler.model import Location, Violation

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH: Final = 64
# Aliases may add this many nodes, or as many as the file writes out itself if that is more:
# enough for any honest reuse of an anchor, far too few for a "billion laughs".
MAX_ALIAS_NODES: Final = 100_000
# Then reading stops: a file this broken needs fixing, not a longer list (nor the memory it takes).
MAX_VIOLATIONS: Final = 100

JsonPath = tuple[str | int, ...]

_MIB: Final = 1024 * 1024
_LIBYAML: bool = yaml.__with_libyaml__

_TAG_PREFIX: Final = "tag:yaml.org,2002:"
_STR: Final = _TAG_PREFIX + "str"
_INT: Final = _TAG_PREFIX + "int"
_FLOAT: Final = _TAG_PREFIX + "float"
_BOOL: Final = _TAG_PREFIX + "bool"
_NULL: Final = _TAG_PREFIX + "null"
_SEQ: Final = _TAG_PREFIX + "seq"
_MAP: Final = _TAG_PREFIX + "map"
_SCALAR_TAGS: Final = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL})

# SafeLoader's implicit resolution minus timestamps (they stay strings, as JSON would have
# them), the YAML 1.1 `=` value key and the `<<` merge key, which is rejected where it is used.
_IMPLICIT_TAGS: Final = frozenset({_BOOL, _FLOAT, _INT, _NULL})
_IMPLICIT_RESOLVERS: Final[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag in _IMPLICIT_TAGS]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    if first is not None
}
_BOOL_VALUES: Final = {
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "on": True,
    "off": False,
}

_BOMS: Final = (
    (b"\xef\xbb\xbf", "a UTF-8"),
    (b"\xff\xfe\x00\x00", "a UTF-32"),
    (b"\x00\x00\xfe\xff", "a UTF-32"),
    (b"\xff\xfe", "a UTF-16"),
    (b"\xfe\xff", "a UTF-16"),
)
# The characters YAML forbids in a stream (the complement of PyYAML's allowed list), plus
# U+FEFF: a byte-order mark inside the file is invisible in an editor and libyaml and PyYAML
# disagree about it. Listed, not negated: the negated class spans all of Unicode and took
# 3 ms to compile at every start.
_FORBIDDEN_CHARACTER: Final = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufeff\ufffe\uffff]"
)


class Document(NamedTuple):
    """One loaded file: its data, the hash of its bytes, and where every node was written."""

    path: str
    data: Any
    sha256: str
    positions: Mapping[JsonPath, Location]
    key_positions: Mapping[JsonPath, Location]

    def location(self, path: Sequence[str | int]) -> Location:
        """Where the value at `path` starts, or its nearest ancestor's if it has no position."""
        node = tuple(path)
        while node:
            found = self.positions.get(node)
            if found is not None:
                return found
            node = node[:-1]
        return self.positions.get((), Location(self.path, 1, 1))

    def entry_location(self, path: Sequence[str | int]) -> Location:
        """Where the key of the mapping entry at `path` starts; for a list item, its value."""
        entry = tuple(path)
        return self.key_positions.get(entry) or self.location(entry)


class _Positions(Mapping[JsonPath, Location]):
    """Locations by JSON path, kept as the parser's marks until asked for: most never are."""

    __slots__ = ("_file", "_marks")

    def __init__(self, file: str, marks: dict[JsonPath, Any]) -> None:
        self._file = file
        self._marks = marks

    def __getitem__(self, path: JsonPath) -> Location:
        return _location(self._file, self._marks[path])

    def __contains__(self, path: object) -> bool:
        return path in self._marks

    def __iter__(self) -> Iterator[JsonPath]:
        return iter(self._marks)

    def __len__(self) -> int:
        return len(self._marks)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self)!r})"


def load_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> Document:
    """Read and load one YAML or JSON file, refusing it by its size before reading it all."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > max_bytes:
                raise _too_large(name, size, max_bytes)
            raw = _read_at_most(stream, size, max_bytes + 1)
            if len(raw) > max_bytes:  # a pipe, or a file that grew: its real size is unknown
                raise _too_large(name, len(raw), max_bytes, at_least=True)
    except FileNotFoundError:
        raise SegpubError(f"cannot read {name}: no such file") from None
    except IsADirectoryError:
        raise SegpubError(f"cannot read {name}: it is a directory, not a file") from None
    except PermissionError:
        raise SegpubError(f"cannot read {name}: permission denied") from None
    except OSError as exc:
        raise SegpubError(f"cannot read {name}: {exc.strerror or exc}") from None
    return load_bytes(raw, name, max_bytes=max_bytes)


def _read_at_most(stream: BinaryIO, size: int, limit: int) -> bytes:
    """The file's bytes, but never more than `limit` of them.

    One read of the size the file reports, plus one byte to notice growth; then small reads,
    for a pipe or a /proc file reports no size at all. Never a buffer of `limit` bytes up front.
    """
    raw = bytearray(stream.read(min(size + 1, limit)))
    while len(raw) < limit:
        more = stream.read(min(limit - len(raw), 64 * 1024))
        if not more:
            break
        raw += more
    return bytes(raw)


def load_bytes(raw: bytes, name: str, *, max_bytes: int = MAX_BYTES) -> Document:
    """Load YAML or JSON bytes that came from the file `name` (used in every message)."""
    if len(raw) > max_bytes:
        raise _too_large(name, len(raw), max_bytes)
    text = _decode(raw, name)
    data, value_marks, key_marks = _build(text, name, libyaml=_LIBYAML)
    return Document(
        path=name,
        data=data,
        sha256=hashlib.sha256(raw).hexdigest(),
        positions=_Positions(name, value_marks),
        key_positions=_Positions(name, key_marks),
    )


def _too_large(name: str, size: int, max_bytes: int, *, at_least: bool = False) -> InputError:
    message = (
        f"file is {'at least ' if at_least else ''}{_mib(size, exact=True)},"
        f" over the limit of {_mib(max_bytes)}; check that this is the right file"
    )
    return InputError([Violation(rule="file_too_large", message=message, file=name)])


def _mib(size: int, *, exact: bool = False) -> str:
    shown = f"{size / _MIB:.1f} MiB"
    if shown == "0.0 MiB":
        return f"{size:,} bytes"
    return f"{shown} ({size:,} bytes)" if exact else shown


def _decode(raw: bytes, name: str) -> str:
    """The text of the file, if it is UTF-8 without a byte-order mark or forbidden characters."""
    for bom, kind in _BOMS:
        if raw.startswith(bom):
            message = f"file starts with {kind} byte-order mark (BOM); save it as UTF-8 without BOM"
            raise InputError([Violation.at("encoding", message, Location(name, 1, 1))])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        # Everything before the first bad byte decodes, so the column counts characters.
        column = len(raw[line_start : exc.start].decode("utf-8")) + 1
        message = (
            f"file is not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}"
            " cannot be decoded; save the file as UTF-8"
        )
        raise InputError(
            [Violation.at("encoding", message, Location(name, line, column))]
        ) from None
    forbidden = _FORBIDDEN_CHARACTER.search(text)
    if forbidden is not None:
        index = forbidden.start()
        character = forbidden.group()
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        if character == "\0":
            message = "file contains a NUL byte; YAML files are text: remove it"
        elif character == "\ufeff":
            message = "file contains a byte-order mark (U+FEFF) inside it; remove it"
        else:
            message = (
                f"file contains the control character U+{ord(character):04X},"
                " which YAML does not allow; remove it"
            )
        raise InputError([Violation.at("encoding", message, Location(name, line, column))])
    return text


class _EventSource(Protocol):
    def get_event(self) -> Event | None: ...


class _Scanner(Scanner):
    """PyYAML's scanner, taught to treat tabs as libyaml does, so both give the same result.

    libyaml allows a tab between tokens in flow context and after a key's ':' (JSON indented
    with tabs relies on it) and inside a plain scalar; PyYAML allows none. Neither allows a tab
    as indentation. In flow context libyaml lets '?' into a plain scalar and refuses a ':'
    followed by a flow indicator; PyYAML ends the scalar at both.
    """

    def scan_plain(self) -> ScalarToken:
        reader: Any = self
        chunks: list[str] = []
        start_mark = reader.get_mark()
        end_mark = start_mark
        indent = self.indent + 1
        spaces: list[str] | None = []
        while True:
            length = 0
            if reader.peek() == "#":
                break
            while True:
                character = reader.peek(length)
                if character in _BLANKS_OR_END:
                    break
                if character == ":":
                    following = reader.peek(length + 1)
                    if following in _BLANKS_OR_END:
                        break
                    if self.flow_level and following in ",?[]{}":
                        chunk = reader.get_mark()
                        colon = Mark(
                            chunk.name,
                            chunk.index + length,
                            chunk.line,
                            chunk.column + length,
                            chunk.buffer,
                            chunk.pointer + length,
                        )
                        raise ScannerError(
                            "while scanning a plain scalar",
                            start_mark,
                            "found unexpected ':'",
                            colon,
                        )
                if self.flow_level and character in ",[]{}":
                    break
                length += 1
            if length == 0:
                break
            self.allow_simple_key = False
            chunks.extend(spaces or ())
            chunks.append(reader.prefix(length))
            reader.forward(length)
            end_mark = reader.get_mark()
            spaces = self.scan_plain_spaces(indent, start_mark)
            if (
                not spaces
                or reader.peek() == "#"
                or (not self.flow_level and reader.column < indent)
            ):
                break
        return ScalarToken("".join(chunks), True, start_mark, end_mark)

    def scan_to_next_token(self) -> None:
        reader: Any = self
        while True:
            while reader.peek() == " " or (
                reader.peek() == "\t" and (self.flow_level or not self.allow_simple_key)
            ):
                reader.forward()
            if reader.peek() == "#":
                while reader.peek() not in _BREAKS_OR_END:
                    reader.forward()
            if not reader.scan_line_break():
                return
            if not self.flow_level:
                self.allow_simple_key = True

    def scan_plain_spaces(self, indent: int, start_mark: Any) -> list[str] | None:
        reader: Any = self
        chunks: list[str] = []
        length = 0
        while reader.peek(length) in " \t":
            length += 1
        whitespaces = reader.prefix(length)
        reader.forward(length)
        if reader.peek() not in _BREAKS:
            if whitespaces:
                chunks.append(whitespaces)
            return chunks
        line_break = reader.scan_line_break()
        self.allow_simple_key = True
        if reader.prefix(3) in ("---", "...") and reader.peek(3) in _BLANKS_OR_END:
            return None
        breaks: list[str] = []
        while reader.peek() in " \t" or reader.peek() in _BREAKS:
            if reader.peek() == "\t" and reader.column < indent:
                raise ScannerError(
                    "while scanning a plain scalar",
                    start_mark,
                    "found a tab character that violates indentation",
                    reader.get_mark(),
                )
            if reader.peek() in " \t":
                reader.forward()
            else:
                breaks.append(reader.scan_line_break())
                if reader.prefix(3) in ("---", "...") and reader.peek(3) in _BLANKS_OR_END:
                    return None
        if line_break != "\n":
            chunks.append(line_break)
        elif not breaks:
            chunks.append(" ")
        chunks.extend(breaks)
        return chunks


_BREAKS: Final = "\r\n\x85\u2028\u2029"
_BREAKS_OR_END: Final = "\0" + _BREAKS
_BLANKS_OR_END: Final = "\0 \t" + _BREAKS


class _PurePythonParser(Reader, _Scanner, Parser):
    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        _Scanner.__init__(self)
        Parser.__init__(self)


def _event_source(text: str, *, libyaml: bool) -> _EventSource:
    if libyaml:
        from yaml._yaml import CParser  # only importable when PyYAML was built with libyaml

        return CParser(text)
    return _PurePythonParser(text)


class _Anchor:
    """What an alias to this anchor stands for, and how much it would expand to."""

    __slots__ = ("value", "nodes", "height", "complete")

    def __init__(self, value: Any, *, complete: bool) -> None:
        self.value = value
        self.nodes = 1  # counting what its own aliases expand to
        self.height = 0  # lists and mappings nested in it, counting itself
        self.complete = complete  # an alias inside the value it names would never end


_AWAITING_KEY: Final = object()  # the next node in this mapping is a key
_DROPPED_ENTRY: Final = object()  # the key was refused: read the value, keep nothing


class _Open:
    """A list or mapping whose end has not been read yet."""

    __slots__ = (
        "value",
        "path",
        "anchor",
        "first_node",
        "height",
        "key",
        "entry_path",
        "keys",
        "repeats",
        "mark",
    )

    def __init__(
        self, value: Any, path: JsonPath | None, anchor: str | None, first_node: int, mark: Any
    ) -> None:
        self.value = value
        self.mark = mark
        self.path = path  # None inside a value that is not kept: it gets no positions
        self.anchor = anchor
        self.first_node = first_node
        self.height = 0  # of the deepest list or mapping inside it, aliases expanded
        self.key: Any = _AWAITING_KEY if type(value) is dict else None  # None in a list
        self.entry_path: JsonPath | None = None  # of the entry whose value comes next
        self.keys: dict[Any, Any] = {}  # each key of a mapping -> the mark where it first was
        self.repeats: dict[Any, int] | None = None  # how often each repeated key was seen


class _Builder:
    """Plain data and the mark of every node, from a YAML event stream, without recursion.

    PyYAML's composer and constructor recurse once per level of nesting, so they are not used:
    depth and alias expansion are checked as each event arrives, before anything can grow.
    Aliases are shared objects, as in PyYAML; what they expand to gets no positions of its own,
    so a message about it points at the alias.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.violations: list[Violation] = []
        self.value_marks: dict[JsonPath, Any] = {}
        self.key_marks: dict[JsonPath, Any] = {}
        self.anchors: dict[str, _Anchor] = {}
        self.stack: list[_Open] = []
        self.root: Any = None
        self.nodes = 0  # nodes construction produces, each alias counted as all it expands to
        self.alias_nodes = 0  # of those, the ones aliases produce

    def fail(self, rule: str, message: str, mark: Any) -> InputError:
        """The error to raise now: everything collected so far, then this."""
        return InputError([*self.violations, Violation.at(rule, message, self.at(mark))])

    def report(self, rule: str, message: str, mark: Any) -> None:
        self.add(Violation.at(rule, message, self.at(mark)))

    def add(self, violation: Violation) -> None:
        self.violations.append(violation)
        if len(self.violations) >= MAX_VIOLATIONS:
            raise InputError(self.violations)

    def at(self, mark: Any) -> Location:
        return _location(self.name, mark)

    def read_document(self, events: _EventSource) -> None:
        """Read the events of one document, up to and including its end."""
        get_event = events.get_event
        handlers: dict[type[object], Callable[[Any], None]] = {
            ScalarEvent: self.scalar,
            MappingStartEvent: self.start,
            SequenceStartEvent: self.start,
            MappingEndEvent: self.end,
            SequenceEndEvent: self.end,
            AliasEvent: self.alias,
        }
        while True:
            event = get_event()
            handler = handlers.get(type(event))
            if handler is None:
                return  # the document's end
            handler(event)

    def scalar(self, event: ScalarEvent) -> None:
        self.nodes += 1
        written = event.value
        value: Any = written
        # Most scalars are text that no implicit resolver could claim: skip the resolution.
        if event.tag is not None or (event.implicit[0] and written[:1] in _IMPLICIT_RESOLVERS):
            value = _scalar_value(event, self)
        mark = event.start_mark
        if not written and event.tag is None and event.implicit[0]:
            # Nothing was written: libyaml and PyYAML put such a null in different places.
            mark = None
        if event.anchor is not None:
            self.add_anchor(event.anchor, value, mark, complete=True)
        parent = self.stack[-1] if self.stack else None
        if parent is None or parent.key is not _AWAITING_KEY:
            self.place(value, mark)
        elif written == "<<" and event.tag is None and event.implicit[0]:
            # A merge key copies another mapping's entries in: YAML 1.2 and JSON have no such
            # thing, and it hides where each entry came from. Refused rather than merged.
            message = "merge keys ('<<') are not supported; write the merged keys out in full"
            self.report("unsupported_tag", message, mark)
            parent.key = _DROPPED_ENTRY
        else:
            self.accept_key(parent, value, mark, written=written)

    def alias(self, event: AliasEvent) -> None:
        mark = event.start_mark
        anchored = self.anchors.get(event.anchor or "")
        if anchored is None:
            message = f"alias '*{event.anchor}' has no anchor; define '&{event.anchor}' first"
            raise self.fail("syntax", message, mark)
        if not anchored.complete:
            message = (
                f"alias '*{event.anchor}' is used inside the value it names,"
                " which would never end; remove it"
            )
            raise self.fail("alias_expansion", message, mark)
        if len(self.stack) + anchored.height > MAX_DEPTH:
            message = (
                f"alias '*{event.anchor}' nests values more than {MAX_DEPTH} levels deep;"
                " flatten the structure"
            )
            raise self.fail("too_deep", message, mark)
        self.nodes += anchored.nodes
        self.alias_nodes += anchored.nodes
        limit = max(MAX_ALIAS_NODES, self.nodes - self.alias_nodes)
        if self.alias_nodes > limit:
            message = (
                f"aliases expand to more than {limit:,} values here;"
                " write the values out instead of nesting aliases"
            )
            raise self.fail("alias_expansion", message, mark)
        if self.stack and self.stack[-1].height < anchored.height:
            self.stack[-1].height = anchored.height
        self.place(anchored.value, mark)

    def start(self, event: SequenceStartEvent | MappingStartEvent) -> None:
        mark = event.start_mark
        if len(self.stack) >= MAX_DEPTH:
            message = f"values are nested more than {MAX_DEPTH} levels deep; flatten the structure"
            raise self.fail("too_deep", message, mark)
        self.nodes += 1
        value: list[Any] | dict[Any, Any]
        if type(event) is SequenceStartEvent:
            value, tag = [], _SEQ
        else:
            value, tag = {}, _MAP
        if event.tag is not None and event.tag != "!" and event.tag != tag:
            self.add(_unsupported_tag(event.tag, self.name, mark))
        anchor = event.anchor
        if anchor is not None and not self.add_anchor(anchor, value, mark, complete=False):
            anchor = None
        path = self.place(value, mark)
        self.stack.append(_Open(value, path, anchor, self.nodes - 1, mark))

    def end(self, event: CollectionEndEvent) -> None:
        finished = self.stack.pop()
        height = finished.height + 1
        if self.stack and self.stack[-1].height < height:
            self.stack[-1].height = height
        if finished.anchor is not None:
            anchored = self.anchors[finished.anchor]
            anchored.nodes = self.nodes - finished.first_node
            anchored.height = height
            anchored.complete = True

    def place(self, value: Any, mark: Any) -> JsonPath | None:
        """Put a node where it belongs; return its path, or None if it gets no positions.

        A value with no mark (nothing was written) takes its key's position, if it has one.
        """
        if not self.stack:
            self.root = value
            if mark is not None:
                self.value_marks[()] = mark
            return ()
        parent = self.stack[-1]
        container = parent.value
        path: JsonPath | None
        if type(container) is list:
            path = None if parent.path is None else (*parent.path, len(container))
            container.append(value)
        elif parent.key is _AWAITING_KEY:
            self.accept_key(parent, value, mark)
            return None
        else:
            path = parent.entry_path
            if parent.key is not _DROPPED_ENTRY:
                container[parent.key] = value
                if mark is None:
                    mark = parent.keys[parent.key]
            parent.key = _AWAITING_KEY
        if path is not None and mark is not None:
            self.value_marks[path] = mark
        return path

    def accept_key(self, mapping: _Open, key: Any, mark: Any, written: str | None = None) -> None:
        """Take `key` for the next entry of `mapping`, unless it is unusable or repeated."""
        mapping.key = _DROPPED_ENTRY
        mapping.entry_path = None
        if mark is None:
            mark = mapping.mark
        if type(key) is not str and type(key) is not int:
            self.report("unsupported_key", _key_problem(key, written), mark)
            return
        first = mapping.keys.get(key)
        if first is not None:
            if mapping.repeats is None:
                mapping.repeats = {}
            count = mapping.repeats[key] = mapping.repeats.get(key, 1) + 1
            times, remove = ("twice", "one") if count == 2 else (f"{count} times", "all but one")
            message = (
                f"key {_show(key)} is defined {times} (first at line {first.line + 1},"
                f" column {first.column + 1}); remove {remove}"
            )
            self.report("duplicate_key", message, mark)
            return
        mapping.keys[key] = mark
        mapping.key = key
        if mapping.path is not None:
            mapping.entry_path = (*mapping.path, key)
            self.key_marks[mapping.entry_path] = mark

    def add_anchor(self, anchor: str, value: Any, mark: Any, *, complete: bool) -> bool:
        if anchor in self.anchors:
            # YAML lets the second one win; PyYAML refuses, and so do we: it is surely a mistake.
            self.report("syntax", f"anchor '&{anchor}' is defined twice; rename one", mark)
            return False
        self.anchors[anchor] = _Anchor(value, complete=complete)
        return True


def _build(
    text: str, name: str, *, libyaml: bool
) -> tuple[Any, dict[JsonPath, Any], dict[JsonPath, Any]]:
    """The data of the single document in `text`, and the marks of its values and keys."""
    builder = _Builder(name)
    events = _event_source(text, libyaml=libyaml)
    # Nothing built here can form a cycle (an alias into its own value is refused), and the
    # collector, triggered again and again by the many new containers, costs a third of the time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        events.get_event()  # the stream's start
        if type(events.get_event()) is StreamEndEvent:
            message = (
                "file is empty (only whitespace or comments);"
                " it should hold one YAML mapping or JSON object"
            )
            raise InputError([Violation(rule="empty_file", message=message, file=name)])
        builder.read_document(events)
        following = events.get_event()
    except MarkedYAMLError as exc:
        if libyaml and "maximum nesting depth" in (exc.problem or ""):
            # Some libyaml builds (PyYAML 6.0.4's wheels) scan a deep flow collection ahead and
            # stop at their own limit of 1,000 before we see the 65th level: read it again with
            # the pure-Python parser, which reaches our limit event by event, so the refusal is
            # the same too_deep at the same place whichever libyaml is installed.
            return _build(text, name, libyaml=False)
        mark = _within(text, exc.problem_mark or exc.context_mark)
        raise builder.fail("syntax", _syntax_message(exc, text), mark) from None
    except YAMLError as exc:
        raise builder.fail("syntax", f"invalid YAML: {exc}", None) from None
    finally:
        if collecting:
            gc.enable()
    if type(following) is DocumentStartEvent:
        message = (
            "file holds more than one YAML document (another starts here);"
            " keep a single document per file"
        )
        raise builder.fail("syntax", message, following.start_mark)
    if builder.violations:
        raise InputError(builder.violations)
    return builder.root, builder.value_marks, builder.key_marks


def _within(text: str, mark: Any) -> Any:
    """The mark, or the end of the text if the mark lies past it.

    At the end of the text libyaml reports the start of a line after the last one, PyYAML the
    last character: both are moved to the end of the last line, so both give the same answer.
    """
    if mark is None:
        return None
    last_line = text.count("\n")
    last_column = len(text) - (text.rfind("\n") + 1)
    if (mark.line, mark.column) <= (last_line, last_column):
        return mark
    return Mark(mark.name, len(text), last_line, last_column, None, 0)


def _location(name: str, mark: Any) -> Location:
    if mark is None:
        return Location(name, 1, 1)
    return Location(name, mark.line + 1, mark.column + 1)


def _key_problem(key: Any, written: str | None) -> str:
    if isinstance(key, list | dict):
        kind = "a list" if isinstance(key, list) else "a mapping"
        return f"a mapping key cannot be {kind}; use text as the key"
    kinds = {bool: "true/false", float: "a decimal number", type(None): "null"}
    shown = _show(str(key) if written is None else written)
    return f"key {shown} is read as {kinds.get(type(key), 'not text')}; quote it to use it as a key"


def _show(key: str | int) -> str:
    """A key or value as a message shows it: quoted, and cut short if long."""
    shown = repr(key) if isinstance(key, str) else f"'{key}'"
    return shown if len(shown) <= 60 else shown[:56] + "...'"


def _unsupported_tag(tag: str, name: str, mark: Any) -> Violation:
    shown = "!!" + tag.removeprefix(_TAG_PREFIX) if tag.startswith(_TAG_PREFIX) else tag
    message = (
        f"tag '{shown}' is not supported; remove it"
        " (only text, numbers, true/false, null, lists and mappings are allowed)"
    )
    return Violation.at("unsupported_tag", message, _location(name, mark))


def _scalar_value(event: ScalarEvent, builder: _Builder) -> Any:
    """The plain value of a scalar, resolved like PyYAML's SafeLoader except for timestamps."""
    value = event.value
    tag = event.tag
    if tag == "!":
        # The non-specific tag means "text" for a scalar. PyYAML would still resolve `! 12`
        # to a number, and libyaml and PyYAML disagree on `! ` alone: follow the YAML spec.
        return value
    if tag is None:
        if not event.implicit[0]:
            return value
        for candidate, pattern in _IMPLICIT_RESOLVERS.get(value[:1], ()):
            if pattern.match(value):
                tag = candidate
                break
        else:
            return value
    elif tag not in _SCALAR_TAGS:
        builder.add(_unsupported_tag(tag, builder.name, event.start_mark))
        return None
    try:
        return _construct(tag, value)
    except (ValueError, KeyError, IndexError) as exc:
        what = {_INT: "a whole number", _FLOAT: "a number", _BOOL: "true or false"}.get(tag, tag)
        too_long = isinstance(exc, ValueError) and "digits" in str(exc)
        reason = f" (it has more than {sys.get_int_max_str_digits()} digits)" if too_long else ""
        message = (
            f"value {_show(value)} cannot be read as {what}{reason}; quote it to keep it as text"
        )
        builder.report("syntax", message, event.start_mark)
        return None


def _construct(tag: str, value: str) -> Any:
    """Mirror SafeConstructor's int, float, bool and null construction, without building nodes."""
    if tag == _STR:
        return value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return _BOOL_VALUES[value.lower()]
    number = value.replace("_", "")
    if tag == _FLOAT:
        number = number.lower()
    sign = -1 if number[0] == "-" else 1
    if number[0] in "+-":
        number = number[1:]
    if tag == _FLOAT:
        if number == ".inf":
            return sign * float("inf")
        if number == ".nan":
            return float("nan")
        if ":" in number:
            return sign * _sexagesimal([float(part) for part in number.split(":")])
        return sign * float(number)
    if number == "0":
        return 0
    if number.startswith("0b"):
        return sign * int(number[2:], 2)
    if number.startswith("0x"):
        return sign * int(number[2:], 16)
    if number[0] == "0":
        return sign * int(number, 8)
    if ":" in number:
        return sign * _sexagesimal([int(part) for part in number.split(":")])
    return sign * int(number)


def _sexagesimal(digits: list[Any]) -> Any:
    # Summed from the last digit up, as SafeConstructor does, so floats round the same way.
    total: Any = 0
    base = 1
    for digit in reversed(digits):
        total += digit * base
        base *= 60
    return total


def _syntax_message(exc: MarkedYAMLError, text: str) -> str:
    mark = exc.problem_mark
    if mark is not None and _character_at(text, mark.line, mark.column) == "\t":
        return "a tab is used for indentation here; YAML indents with spaces: replace the tab"
    problem = exc.problem or "the YAML cannot be parsed"
    context = ""
    if exc.context and exc.context_mark is not None and exc.context_mark is not mark:
        where = f"line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        context = f" ({exc.context} at {where})"
    return f"invalid YAML: {problem}{context}; check the indentation, quotes and brackets here"


def _character_at(text: str, line: int, column: int) -> str:
    start = 0
    for _ in range(line):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    return text[start + column : start + column + 1]
