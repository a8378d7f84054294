"""Front matter and YAML files read with line numbers, within bounds, in plain words.

Reading is bounded before PyYAML builds anything: the text's size, then the
nesting depth while the parser's events are assembled into nodes (PyYAML's own
composer recurses once per level, so a 3,000-deep list would end in a
``RecursionError``).  The same pass refuses aliases and finds duplicate keys,
which PyYAML silently accepts (the last one wins).  A YAML error is told in
plain words at the line of the mistake, with the fix for that mistake.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kb import stamped
from kb.model.schema import (
    FIELDS,
    MAX_DEPTH,
    MAX_FRONT_MATTER_BYTES,
    POST_KEYS,
    UNSUPPORTED_POST_KEYS,
    Problem,
    key_hint,
    shape_problem,
)

#: The byte-order mark some editors write first; Sphinx reads sources as
#: ``utf-8-sig`` and drops it, so the model does the same.
BOM = "\ufeff"

NO_ALIASES = "YAML anchors and aliases (&, *) are not supported"


def dates_as_text(resolvers: dict[Any, list[tuple[str, Any]]]) -> dict[Any, list[tuple[str, Any]]]:
    """YAML's implicit types (by first character) but dates and times, which then stay text."""
    return {
        first: [(tag, pattern) for tag, pattern in found if tag != "tag:yaml.org,2002:timestamp"]
        for first, found in resolvers.items()
    }


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps dates as text, so that we parse them strictly."""

    yaml_implicit_resolvers = dates_as_text(yaml.SafeLoader.yaml_implicit_resolvers)


class _FastLoader(getattr(yaml, "CSafeLoader", _Loader)):  # type: ignore[misc]
    """The same with libyaml's parser: five times faster on every post of every
    build; bad YAML is parsed again with :class:`_Loader` for its messages."""

    yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


class RefusedYAMLError(Exception):
    """YAML that parses but that the site refuses: too deep, an alias, a key twice."""

    def __init__(self, line: int, message: str, fix: str, first: int | None = None) -> None:
        super().__init__(message)
        self.line, self.message, self.fix, self.first = line, message, fix, first

    def problem(self, rel: str, offset: int) -> Problem:
        """The problem at its line in the file, the YAML starting *offset* lines down."""
        message = self.message
        if self.first is not None:  # the line where the key was first written
            message += f" (first on line {self.first + offset}); only one would be kept"
        return Problem(rel, self.line + offset, message, self.fix)


# -- composing, bounded ---------------------------------------------------------


@dataclass
class _Open:
    """A list or mapping being assembled, with the keys seen so far in a mapping."""

    node: yaml.CollectionNode
    key: yaml.Node | None = None
    seen: dict[str, int] | None = None


def _add(stack: list[_Open], node: yaml.Node) -> yaml.Node | None:
    """Put *node* in the collection being assembled; the node itself if it is the root."""
    if not stack:
        return node
    parent = stack[-1]
    if isinstance(parent.node, yaml.SequenceNode):
        parent.node.value.append(node)
    elif parent.key is None:
        if isinstance(node, yaml.ScalarNode) and parent.seen is not None:
            if node.value in parent.seen:
                raise RefusedYAMLError(
                    node.start_mark.line,
                    f"the key {node.value!r} is written twice",
                    "keep one of the two lines",
                    first=parent.seen[node.value],
                )
            parent.seen[node.value] = node.start_mark.line
        parent.key = node
    else:
        parent.node.value.append((parent.key, node))
        parent.key = None
    return None


def _node(loader: yaml.SafeLoader, event: yaml.Event, depth: int) -> yaml.Node | None:
    """The node an event starts (a scalar is complete; a collection is empty for now)."""
    if isinstance(event, yaml.AliasEvent):
        raise RefusedYAMLError(event.start_mark.line, NO_ALIASES, "write each value out")
    if isinstance(event, yaml.ScalarEvent):
        tag = (
            event.tag if event.tag not in (None, "!") else loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        )
        return yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
    if depth >= MAX_DEPTH:
        raise RefusedYAMLError(
            event.start_mark.line,
            f"values are nested more than {MAX_DEPTH} levels deep",
            "write text, a list of text, or label: value lines, as in the guide",
        )
    kind = yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode
    tag = event.tag if event.tag not in (None, "!") else loader.resolve(kind, None, event.implicit)
    return kind(tag, [], event.start_mark, event.end_mark, flow_style=event.flow_style)


def compose(loader: yaml.SafeLoader) -> yaml.Node | None:
    """The single document's node, assembled from the parser's events without recursion."""
    stack: list[_Open] = []
    root: yaml.Node | None = None
    documents = 0
    while not loader.check_event(yaml.StreamEndEvent):
        event = loader.get_event()
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise RefusedYAMLError(event.start_mark.line, "a second YAML document starts here", "remove the line")
        elif isinstance(event, yaml.CollectionEndEvent):
            done = stack.pop().node
            done.end_mark = event.end_mark
            root = _add(stack, done) or root
        elif not isinstance(event, yaml.DocumentEndEvent | yaml.StreamStartEvent):
            node = _node(loader, event, len(stack))
            if isinstance(node, yaml.CollectionNode):
                stack.append(_Open(node, seen={} if isinstance(node, yaml.MappingNode) else None))
            else:
                root = _add(stack, node) or root
    return root


def parse(loader_class: type[yaml.SafeLoader], source: str) -> tuple[yaml.Node | None, Any]:
    """The node of *source* (it knows each key's line) and the values it holds."""
    loader = loader_class(source)
    try:
        node = compose(loader)
        return node, loader.construct_document(node) if node is not None else {}
    finally:
        loader.dispose()


def parse_located(source: str) -> tuple[yaml.Node | None, Any]:
    """:func:`parse` with libyaml, and again in pure Python (better messages) if that fails."""
    try:
        return parse(_FastLoader, source)
    except yaml.YAMLError:
        return parse(_Loader, source)


# -- YAML errors in plain words ----------------------------------------------------

_SIMPLE_KEY_LINE = re.compile(r"^\s+[\w-]+:(\s|$)")
_KEY = re.compile(r"^\s*-?\s*([\w-]+):")


def _line_of(lines: list[str], index: int) -> str:
    return lines[index] if 0 <= index < len(lines) else ""


def explain(exc: yaml.YAMLError, source: str) -> tuple[int, str, str]:
    """(line within *source*, from 0; message; fix) for a YAML error, in a consultant's words."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = source.count("\n", 0, max(exc.position, 0))
        return (
            line,
            f"the character {chr(exc.character)!r} cannot appear in YAML",
            "delete it (it is invisible in most editors)",
        )
    problem = getattr(exc, "problem", None) or ""
    context = getattr(exc, "context", None) or ""
    mark = getattr(exc, "problem_mark", None)
    lines = source.splitlines()
    if "'\\t'" in problem:
        return mark.line if mark else 0, "a tab is used for indenting", "indent with spaces, never tabs"
    opened = getattr(exc, "context_mark", None)
    if opened and ("quoted scalar" in context or "flow " in context or "simple key" in context):
        return _unclosed(context, opened, lines)
    return _misplaced(problem, mark, lines) or (
        mark.line if mark else 0,
        f"the YAML cannot be read ({problem or exc})",
        "compare the line with the examples in the guide",
    )


def _unclosed(context: str, opened: yaml.Mark, lines: list[str]) -> tuple[int, str, str]:
    """A quote, a bracket or a key that YAML saw open and never end: told where it opens."""
    text = _line_of(lines, opened.line)
    if "quoted scalar" in context:
        quote = text[opened.column : opened.column + 1] or '"'
        key = found.group(1) if (found := _KEY.match(text)) else "title"
        return (
            opened.line,
            f"the quote {quote} opened here is never closed",
            f"end the value with {quote} on the same line: {key}: {quote}...{quote}",
        )
    if "simple key" in context:
        return (
            opened.line,
            "this line is not 'key: value'",
            "add ': ' after the key, or indent the line if it continues the value above",
        )
    what, bracket, closing, example = (
        ("list", "[", "]", "tags: [GMP, Training]") if "sequence" in context else ("mapping", "{", "}", "{a: b}")
    )
    return (
        opened.line,
        f"the {bracket!r} opened here is not closed before the next value",
        f"end the {what} with {closing!r} on the same line: {example}; put text holding , or : in quotes",
    )


def _misplaced(problem: str, mark: yaml.Mark | None, lines: list[str]) -> tuple[int, str, str] | None:
    """Something found where YAML expected another thing: a colon, an indent, a character."""
    line = mark.line if mark else 0
    text = _line_of(lines, line)
    if "mapping values are not allowed" in problem:
        if _SIMPLE_KEY_LINE.match(text):
            return _indentation(line)
        return (
            line,
            "a value holds ': ', which YAML reads as the start of another key",
            'put the value in quotes: title: "Myth 3: Validation"',
        )
    if problem.startswith(("expected <block end>", "did not find expected key", "expected <document start>")):
        if mark and mark.column > len(text) - len(text.lstrip()):
            return (
                line,
                "the line goes on after its value has ended (at a closing quote or bracket)",
                "put the whole value in one pair of quotes; in single quotes write ' twice: title: 'It''s here'",
            )
        return _indentation(line)
    if "cannot start any token" in problem:
        char = problem.split("'")[1] if "'" in problem else "?"
        return line, f"a value cannot start with {char!r} in YAML", f'put the value in quotes: key: "{char}..."'
    return None


def _indentation(line: int) -> tuple[int, str, str]:
    return (
        line,
        "this line is indented differently from the keys around it",
        "indent it like the lines it belongs with: front-matter keys at the start of the line, "
        "list items and the lines under a key such as links: by two spaces",
    )


# -- front matter ------------------------------------------------------------------


@dataclass
class FrontMatter:
    """Front matter of one file: values, the line of each key, and the body."""

    path: str
    values: dict[str, Any]
    lines: dict[str, int]
    body: str
    body_line: int

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)


class ParsedFrontMatter:
    """Front matter already parsed, by its exact text, kept in one file between builds.

    :func:`kb.model.load` runs in every build, even one with nothing to do, and
    parsing YAML was a third of it (2,000 posts: 0.33 s, 0.20 to 0.23 s with
    this); a build parses only the front matter that changed.  An entry is the
    pure result of parsing its text (values and the line of each key); text
    that does not parse is never kept, so every problem is found again.  The
    file holds the entries used by the last load, and is ignored if written by
    other code.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.known: dict[str, tuple[dict[str, Any], dict[str, int]]] = {}
        self.used: dict[str, tuple[dict[str, Any], dict[str, int]]] = {}
        self.known = stamped.load(path, self.stamp()) or {}

    @staticmethod
    def stamp() -> str:
        """What the entries depend on: the model's code (every module) and PyYAML's version."""
        digest = hashlib.sha256(yaml.__version__.encode())
        for module in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(module.name.encode() + b"\0" + module.read_bytes())
        return digest.hexdigest()

    def get(self, source: str) -> tuple[dict[str, Any], dict[str, int]] | None:
        found = self.known.get(source)
        if found is not None:
            self.used[source] = found
        return found

    def add(self, source: str, values: dict[str, Any], lines: dict[str, int]) -> None:
        self.used[source] = (values, lines)

    def save(self) -> None:
        """Write the entries used by this load, unless they are the ones read."""
        if self.path is not None and self.used.keys() != self.known.keys():
            stamped.save(self.path, self.stamp(), self.used)


def read_text(root: Path, path: Path, problems: list[Problem]) -> str | None:
    """The text of *path* (a leading byte-order mark dropped), or None with a problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(
            Problem(path.relative_to(root).as_posix(), 1, f"cannot read file: {exc}", "save it as UTF-8 text")
        )
        return None
    return text.removeprefix(BOM)


def _fences(rel: str, lines: list[str], problems: list[Problem]) -> int | None:
    """Index of the line closing the front matter, or None with a problem."""
    if lines[0].strip() != "---":
        where = next((i for i, ln in enumerate(lines, 1) if ln.strip() == "---"), None)
        hint = f" (it starts on line {where})" if where else ""
        problems.append(
            Problem(rel, 1, f"front matter must start on line 1 with '---'{hint}", "move the '---' block to the top")
        )
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        problems.append(Problem(rel, 1, "front matter is not closed", "end it with a line holding only '---'"))
    return end


def parse_front_matter(rel: str, source: str, problems: list[Problem]) -> tuple[dict[str, Any], dict[str, int]] | None:
    """Values and the line of each key of the front matter *source* (file line 2 on)."""
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_FRONT_MATTER_BYTES:
        problems.append(
            Problem(
                rel,
                2,
                f"the front matter is {size:,} bytes, over the limit of {MAX_FRONT_MATTER_BYTES:,}",
                "keep it to the keys of the guide; the body holds the text",
            )
        )
        return None
    try:
        node, data = parse_located(source)
    except RefusedYAMLError as exc:
        problems.append(exc.problem(rel, 2))
        return None
    except yaml.YAMLError as exc:
        line, message, fix = explain(exc, source)
        problems.append(Problem(rel, line + 2, f"malformed YAML: {message}", fix))
        return None
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        problems.append(Problem(rel, 2, "front matter must be a mapping of 'key: value' lines", "write key: value"))
        return None
    lines = {str(k.value): k.start_mark.line + 2 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return {str(k): v for k, v in data.items()}, lines


def read_front_matter(
    root: Path,
    path: Path,
    problems: list[Problem],
    text: str | None = None,
    parsed: ParsedFrontMatter | None = None,
) -> FrontMatter | None:
    """Parse the YAML front matter of *path*; report a problem and return None if bad.

    *text*, when given, is checked as if it were the file's content: ``kb new``
    checks a post before it writes it.  *parsed* holds front matter parsed before.
    """
    rel = path.relative_to(root).as_posix()
    text = read_text(root, path, problems) if text is None else text.removeprefix(BOM)
    if text is None:
        return None
    if not text.strip():
        problems.append(Problem(rel, 1, "file is empty", "add front matter and a body, or delete it"))
        return None
    lines = text.splitlines(keepends=True)
    end = _fences(rel, lines, problems)
    if end is None:
        return None
    source = "".join(lines[1:end])
    body = "".join(lines[end + 1 :])
    if parsed is not None and (known := parsed.get(source)) is not None:
        return FrontMatter(rel, *known, body, end + 2)
    found = parse_front_matter(rel, source, problems)
    if found is None:
        return None
    if parsed is not None:
        parsed.add(source, *found)
    return FrontMatter(rel, *found, body, end + 2)


def read_yaml_file(rel: str, source: str, problems: list[Problem]) -> tuple[yaml.Node | None, Any] | None:
    """A whole YAML file (the vocabulary): its node and values, or None with a problem.

    Lines in problems count from 1, as the file has no fence above its first line.
    """
    try:
        return parse_located(source)
    except RefusedYAMLError as exc:
        problems.append(exc.problem(rel, 1))
    except yaml.YAMLError as exc:
        line, message, fix = explain(exc, source)
        problems.append(Problem(rel, line + 1, f"malformed YAML: {message}", fix))
    return None


# -- checking front matter against a schema ----------------------------------------


def check_keys(fm: FrontMatter, schema: dict[str, tuple[bool, str]], problems: list[Problem]) -> bool:
    """Report unknown and missing keys; return True when all required keys are there."""
    ok = True
    for key in fm.values:
        if key not in schema and schema is POST_KEYS and key in UNSUPPORTED_POST_KEYS:
            problems.append(
                Problem(fm.path, fm.line(key), f"key {key!r} is not supported", UNSUPPORTED_POST_KEYS[key], "policy")
            )
        elif key not in schema:
            problems.append(Problem(fm.path, fm.line(key), f"unknown front-matter key {key!r}", key_hint(key, schema)))
    for key, (required, meaning) in schema.items():
        value = fm.values.get(key)
        if required and (value is None or (isinstance(value, str) and not value.strip())):
            line = fm.line(key)
            problems.append(Problem(fm.path, line, f"missing {key!r}", f"add '{key}: ...' ({meaning})"))
            ok = False
    return ok


def check_values(fm: FrontMatter, schema: dict[str, tuple[bool, str]], problems: list[Problem]) -> bool:
    """Check the type, length and text of every value of *schema*'s keys, before
    anything reads them; drop the bad ones.  True if every value is sound."""
    bad = []
    for key, value in fm.values.items():
        if key in schema and value is not None and (found := shape_problem(key, value, FIELDS[key])):
            problems.append(Problem(fm.path, fm.line(key), *found))
            bad.append(key)
    if bad:  # a new mapping: the old one may be shared with the parse cache
        fm.values = {key: value for key, value in fm.values.items() if key not in bad}
    return not bad
