"""The one reader of cc's YAML files (the config, IVR trees, queue files, QA scorecards): a file in, its
data plus the line of every key out, or a one-line error that names the file, the line and the key.

Errors, the same for every kind of file (``what`` names it: "config file", "queue file", ...):
- missing: ``NotFound("<what> PATH not found", <caller's hint>)``;
- not readable or not UTF-8: ``UsageError("cannot read <what> PATH: <why>", "save it as UTF-8 text")``;
- not YAML, a key written twice, the wrong top-level type: ``YamlFileError`` (a ``UsageError``) reading
  ``"PATH, line N: <problem>"``; its ``line`` and ``problem`` let a caller list it its own way.

Start-up matters (``cc --help``, the classic AGI entry import ``cc.config``): yaml is imported inside
the functions only; this module needs nothing but the stdlib and ``cc.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cc.errors import CcError, NotFound, UsageError

SYNTAX_HINT = "fix the YAML syntax (indentation, colons, quotes)"
MAPPING = "a mapping of keys"
SHAPE_HINT = "write the top level as 'key: value' lines"

Path_ = tuple[str | int, ...]  # ("criteria", 0, "key"): keys of mappings and indexes of lists


class YamlFileError(UsageError):
    """A YAML file that cannot be used: ``"SOURCE, line N: PROBLEM"``."""

    def __init__(self, source: str, problem: str, line: int | None = None, hint: str | None = SYNTAX_HINT) -> None:
        self.source = source
        self.problem = problem
        self.line = line
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {problem}", hint)


@dataclass
class YamlFile:
    source: str
    text: str
    root: Any  # the composed yaml node (None for an empty file), for readers that look at tags
    data: Any  # what yaml.safe_load gives
    lines: dict[Path_, int] = field(default_factory=dict)  # the line of each key and list item

    def line(self, *path: str | int) -> int | None:
        return self.lines.get(tuple(path))

    def dotted_lines(self) -> dict[str, int]:
        """The lines keyed ``"orders.colour"``, ``"criteria[0].key"``."""
        return {dotted(path): line for path, line in self.lines.items()}


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_text(path: str | Path, what: str, missing_hint: str) -> str:
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"{what} {path} not found", missing_hint) from None
    except UnicodeDecodeError as exc:
        why = f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        raise UsageError(f"cannot read {what} {path}: {why}", "save it as UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}", "save it as UTF-8 text") from None


def load_text(text: str, source: str, *, shape: str = MAPPING, empty_ok: bool = False,
              list_ok: bool = False) -> YamlFile:
    """Parse YAML text whose top level must be a mapping (or a list, with ``list_ok``; ``shape`` describes
    what it must be in the error); an empty text is ``None`` data when ``empty_ok``. Raises ``YamlFileError``."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        doc = YamlFile(source, text, loader.get_single_node(), None)
        if doc.root is None:
            if not empty_ok:
                raise YamlFileError(source, f"the file is empty; it must be {shape}", hint=SHAPE_HINT)
            return doc
        if not isinstance(doc.root, yaml.MappingNode) and not (list_ok and isinstance(doc.root, yaml.SequenceNode)):
            kind = "a list" if isinstance(doc.root, yaml.SequenceNode) else "a single value"
            raise YamlFileError(source, f"the file must be {shape}, not {kind}", doc.root.start_mark.line + 1,
                                SHAPE_HINT)
        _walk(doc.root, (), doc, frozenset())  # before constructing: that folds '<<' merges into the nodes
        doc.data = loader.construct_document(doc.root)
        return doc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlFileError(source, f"not valid YAML: {problem}", mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()


def _walk(node: Any, at: Path_, doc: YamlFile, above: frozenset[int]) -> None:
    import yaml

    if id(node) in above:  # an alias of an enclosing node
        return
    above = above | {id(node)}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*at, str(key.value))
            line = key.start_mark.line + 1
            if path in doc.lines:
                first = doc.lines[path]
                raise YamlFileError(doc.source, f"key '{dotted(path)}' is written twice (first on line {first})", line,
                                    "keep one of them")
            doc.lines[path] = line
            _walk(value, path, doc, above)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            doc.lines[(*at, i)] = item.start_mark.line + 1
            _walk(item, (*at, i), doc, above)


def read_file(path: str | Path, what: str, missing_hint: str, *, shape: str = MAPPING, empty_ok: bool = False,
              list_ok: bool = False, error: type[CcError] | None = None) -> YamlFile:
    """``read_text`` then ``load_text``. ``error`` (e.g. ``ConfigError``): the class every failure is
    raised as instead (same message and hint)."""
    try:
        return load_text(read_text(path, what, missing_hint), str(path), shape=shape, empty_ok=empty_ok, list_ok=list_ok)
    except (NotFound, UsageError) as exc:
        if error is None:
            raise
        raise error(exc.message, exc.hint) from None
