"""Load a folder of SQL models: read headers, extract dependencies, check syntax, refs and cycles.

Loading never raises for a bad model: the model keeps its error (file:line and message) and the rest of
the project loads. The Dagster wiring gives an invalid model an asset that fails with that error, and
`python -m financeops_pipeline.sql_models` lists every model with its dependencies and errors.

Header: a YAML block in a leading `/* --- ... --- */` comment, or the same YAML in a sidecar file next to the
model (`<name>.yml`), never both.

    /* ---
    description: Gross, fees, net and payouts per processor, currency and day.
    group: finance_models
    owners: [team:finance]
    partitioned: daily          # daily (default) | false
    engine: duckdb              # duckdb (default) | postgres
    lookback_days: 0            # duckdb: days before the partition date read from dated sources
    tests:
      - not_null: [processor, currency]
      - unique: [processor, currency]
      - accepted_values: {column: processor, values: [stripe, adyen]}
      - relationships: {column: processor, to: "ref('other_model')", field: processor}
      - expect: {name: net_is_gross_minus_fees, sql: "SELECT * FROM {{ this }} WHERE net <> gross - fees"}
    --- */
    SELECT ... FROM {{ source('imports', 'processor_lines') }} WHERE business_date = '{{ partition_date }}'
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from financeops_pipeline.settings import PROJECT_ROOT
from financeops_pipeline.sql_models.model import ENGINES, NAME_RE, ModelError, ModelTest, Ref, SqlModel
from financeops_pipeline.sql_models.templating import extract_dependencies, render

HEADER_OPEN = re.compile(r"^/\*\s*---\s*$")
HEADER_CLOSE = re.compile(r"^\s*---\s*\*/\s*$")
HEADER_KEYS = {"description", "group", "owners", "partitioned", "engine", "lookback_days", "tests"}
TEST_KINDS = ("not_null", "unique", "accepted_values", "relationships", "expect")
TEST_OPTIONS = {"name", "blocking", "severity", "description"}
CHECK_NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,120}$")
# Values used to render at load time, to check templates and syntax before any run.
SAMPLE_VARIABLES = {"partition_date": "2000-01-01", "tenant": "tenant"}


def default_models_dir() -> Path:
    """FINANCEOPS_SQL_MODELS_DIR, or <project>/dbt_like_sql."""
    return Path(os.environ.get("FINANCEOPS_SQL_MODELS_DIR") or PROJECT_ROOT / "dbt_like_sql").resolve()


@dataclass
class Project:
    root: Path
    models: dict[str, SqlModel] = field(default_factory=dict)   # by name (invalid ones included)

    @property
    def errors(self) -> list[ModelError]:
        return [e for m in self.models.values() if m.error for e in [m.error, *m.extra_errors]]

    def ordered(self) -> list[SqlModel]:
        """Models in dependency order (valid ones first by topology; cycles cannot occur among valid)."""
        done: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen or name not in self.models:
                return
            seen.add(name)
            if self.models[name].valid:
                for up in self.models[name].upstream_models:
                    visit(up)
            done.append(name)

        for name in sorted(self.models):
            visit(name)
        return [self.models[n] for n in done]


def load_project(root: Path | None = None) -> Project:
    root = (root or default_models_dir()).resolve()
    project = Project(root=root)
    if not root.is_dir():
        return project
    for path in sorted(root.rglob("*.sql")):
        model = read_model(path, root)
        if model.name in project.models:
            first = project.models[model.name]
            model.fail(1, f"model name {model.name!r} is already used by {first.relative_path} "
                          "(model names are file names and must be unique across folders)")
            model.name = f"{model.name}__duplicate_{len(project.models)}"
        project.models[model.name] = model
    _check_refs(project)
    _check_cycles(project)
    return project


def read_model(path: Path, root: Path) -> SqlModel:
    rel = path.relative_to(root.parent) if root.parent in path.parents else path
    model = SqlModel(name=path.stem, path=path, relative_path=str(rel))
    try:
        model.text = path.read_text(encoding="utf-8")
        if not NAME_RE.match(model.name):
            raise ModelError(rel, None, f"model name {model.name!r} (the file name) must match {NAME_RE.pattern}")
        header, header_line, model.body, model.body_line = _split_header(model.text, str(rel))
        model.header_text = model.text
        sidecar = path.with_suffix(".yml")
        if sidecar.is_file():
            model.header_path = str(rel.with_suffix(".yml"))
            if header_line:
                raise ModelError(model.header_path, 1, f"the header is both here and in {rel}: keep one")
            model.header_text = sidecar.read_text(encoding="utf-8")
            header, header_line = _parse_header_yaml(model.header_text, model.header_path, 1), 1
        _apply_header(model, header, header_line)
        refs, sources = extract_dependencies(model.body, model.relative_path, model.body_line)
        model.refs, model.sources = tuple(refs), tuple(sources)
        for test in model.tests:
            for template in (test.sql, test.to):
                if template:
                    r, s = extract_dependencies(template, model.header_file, test.line)
                    model.refs += tuple(r)
                    model.sources += tuple(s)
        _check_syntax(model)
    except ModelError as exc:
        model.error = exc
    return model


def _split_header(text: str, path: str) -> tuple[dict[str, Any], int, str, int]:
    lines = text.splitlines(keepends=True)
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start == len(lines) or not HEADER_OPEN.match(lines[start].strip()):
        if start < len(lines) and lines[start].lstrip().startswith("/*"):
            raise ModelError(path, start + 1, "a header starts with a line '/* ---' (YAML) and ends with '--- */'")
        return {}, 0, text, 1
    for end in range(start + 1, len(lines)):
        if HEADER_CLOSE.match(lines[end]):
            break
    else:
        raise ModelError(path, start + 1, "header '/* ---' is never closed by a line '--- */'")
    header = _parse_header_yaml("".join(lines[start + 1:end]), path, start + 2)
    body = "".join(lines[end + 1:])
    return header, start + 2, body, end + 2


def _parse_header_yaml(yaml_text: str, path: str, first_line: int) -> dict[str, Any]:
    """The header mapping; `first_line` is the file line of the YAML's first line (for error lines)."""
    try:
        header = yaml.safe_load(yaml_text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + mark.line if mark else max(first_line - 1, 1)
        raise ModelError(path, line, f"header is not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(header, dict):
        raise ModelError(path, first_line, "header must be a YAML mapping (key: value lines)")
    return header


def _key_line(model: SqlModel, header_line: int, key: str) -> int:
    for i, line in enumerate(model.header_text.splitlines()[header_line - 1:], start=header_line):
        if re.match(rf"^\s*-?\s*{re.escape(key)}\s*:", line):
            return i
    return header_line


def _apply_header(model: SqlModel, header: dict[str, Any], header_line: int) -> None:
    def err(key: str, message: str) -> ModelError:
        return ModelError(model.header_file, _key_line(model, header_line, key), message)

    for key in header:
        if key not in HEADER_KEYS:
            raise err(str(key), f"unknown header key {key!r} (allowed: {', '.join(sorted(HEADER_KEYS))})")
    model.description = str(header.get("description") or "").strip()
    model.group = str(header.get("group") or "models")
    if not CHECK_NAME_RE.match(model.group):
        raise err("group", f"group {model.group!r} must be letters, digits and underscores")
    owners = header.get("owners") or []
    if isinstance(owners, str):
        owners = [owners]
    for owner in owners:
        if not (isinstance(owner, str) and (re.match(r"^team:[A-Za-z0-9_-]+$", owner) or
                                            re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", owner))):
            raise err("owners", f"owner {owner!r} must be an email or 'team:<name>'")
    model.owners = tuple(owners)
    partitioned = header.get("partitioned", "daily")
    if partitioned not in ("daily", False, None):
        raise err("partitioned", f"partitioned must be 'daily' or false, not {partitioned!r}")
    model.partitioned = partitioned == "daily"
    model.engine = str(header.get("engine") or "duckdb")
    if model.engine not in ENGINES:
        raise err("engine", f"engine must be one of {', '.join(ENGINES)}, not {model.engine!r}")
    lookback = header.get("lookback_days", 0)
    if not isinstance(lookback, int) or isinstance(lookback, bool) or lookback < 0:
        raise err("lookback_days", f"lookback_days must be a whole number >= 0, not {lookback!r}")
    model.lookback_days = lookback
    model.tests = tuple(_parse_tests(model, header.get("tests") or [], header_line))


def _test_lines(model: SqlModel, header_line: int) -> list[int]:
    """File line of each item under `tests:` (from the YAML node marks of the header)."""
    lines = model.header_text.splitlines()
    end = len(lines) if model.header_path else next(
        (i for i in range(header_line - 1, len(lines)) if HEADER_CLOSE.match(lines[i])), None)
    if not header_line or end is None:
        return []
    root = yaml.compose("\n".join(lines[header_line - 1:end]))
    for key, value in getattr(root, "value", []):
        if getattr(key, "value", None) == "tests" and isinstance(value, yaml.SequenceNode):
            return [header_line + item.start_mark.line for item in value.value]
    return []


def _parse_tests(model: SqlModel, tests: Any, header_line: int) -> list[ModelTest]:
    if not isinstance(tests, list):
        raise ModelError(model.header_file, _key_line(model, header_line, "tests"),
                         "tests must be a list of '- <kind>: ...' items")
    lines = _test_lines(model, header_line)
    out: list[ModelTest] = []
    for i, item in enumerate(tests):
        line = lines[i] if i < len(lines) else _key_line(model, header_line, "tests")

        def bad(message: str, line: int = line) -> ModelError:
            return ModelError(model.header_file, line, message)

        if not (isinstance(item, dict) and len(item) == 1 and next(iter(item)) in TEST_KINDS):
            raise bad(f"a test is one of {', '.join(TEST_KINDS)}: e.g. '- not_null: [column]'")
        kind, spec = next(iter(item.items()))
        if isinstance(spec, (list, str)) and kind in ("not_null", "unique"):
            spec = {"columns": spec}
        if not isinstance(spec, dict):
            raise bad(f"{kind} takes a mapping (or, for not_null / unique, a list of columns)")
        allowed = TEST_OPTIONS | {"not_null": {"columns"}, "unique": {"columns"},
                                  "accepted_values": {"column", "values"},
                                  "relationships": {"column", "to", "field"}, "expect": {"sql"}}[kind]
        unknown = set(spec) - allowed
        if unknown:
            raise bad(f"{kind}: unknown option(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(allowed))})")
        columns = spec.get("columns", spec.get("column", []))
        columns = [columns] if isinstance(columns, str) else list(columns or [])
        for c in columns:
            if not (isinstance(c, str) and NAME_RE.match(c)):
                raise bad(f"{kind}: column {c!r} is not a plain column name")
        if kind in ("not_null", "unique", "accepted_values", "relationships") and not columns:
            raise bad(f"{kind} needs column(s)")
        severity = spec.get("severity", "error")
        if severity not in ("error", "warn"):
            raise bad(f"{kind}: severity must be error or warn")
        test = ModelTest(
            name="", kind=kind, line=line, columns=tuple(columns), blocking=bool(spec.get("blocking", False)),
            severity=severity, description=str(spec.get("description") or ""),
        )
        if kind == "accepted_values":
            values = spec.get("values")
            if not isinstance(values, list) or not values:
                raise bad("accepted_values needs values: [..]")
            test = _replace(test, values=tuple(str(v) for v in values))
        elif kind == "relationships":
            to, fld = spec.get("to"), spec.get("field")
            if not (isinstance(to, str) and re.match(r"^\s*(ref|source)\(.*\)\s*$", to)):
                raise bad("relationships needs to: \"ref('model')\" or \"source('schema', 'table')\"")
            if not (isinstance(fld, str) and NAME_RE.match(fld)):
                raise bad("relationships needs field: <column of the related relation>")
            test = _replace(test, to="{{ " + to.strip() + " }}", field=fld)
        elif kind == "expect":
            sql = spec.get("sql")
            if not (isinstance(sql, str) and sql.strip()):
                raise bad("expect needs sql: a query returning the failing rows")
            if not spec.get("name"):
                raise bad("expect needs a name")
            test = _replace(test, sql=sql)
        name = str(spec.get("name") or ("not_null" if kind == "not_null" else kind + "__" + "__".join(columns)))
        if not CHECK_NAME_RE.match(name):
            raise bad(f"test name {name!r} must be letters, digits and underscores")
        if any(t.name == name for t in out):
            raise bad(f"two tests are named {name!r}: give one a name")
        out.append(_replace(test, name=name))
    return out


def _replace(test: ModelTest, **changes: Any) -> ModelTest:
    from dataclasses import replace
    return replace(test, **changes)


def _check_syntax(model: SqlModel) -> None:
    """Render with sample values; DuckDB models are parsed by DuckDB's parser (one SELECT statement)."""
    variables = dict(SAMPLE_VARIABLES)
    if not model.partitioned:
        variables.pop("partition_date")
    rendered = render(model.body, model.relative_path, model.body_line, variables)
    for test in model.tests:
        if test.sql:
            render(test.sql, model.header_file, test.line, {**variables, "this": model.table})
    if not rendered.strip():
        raise ModelError(model.relative_path, model.body_line, "the model has no SQL after its header")
    if model.engine != "duckdb":
        return   # Postgres syntax is checked by Postgres when the model runs (error with file and line)
    import duckdb

    con = duckdb.connect()
    try:
        statements = con.extract_statements(rendered)
    except duckdb.Error as exc:
        raise sql_error(model, str(exc)) from exc
    finally:
        con.close()
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise ModelError(model.relative_path, model.body_line,
                         f"a model is exactly one SELECT statement (found {len(statements)} statement(s))")


def sql_error(model: SqlModel, message: str, position_line: int | None = None, rendered: str = "") -> ModelError:
    """A database error located in the model file: DuckDB's 'LINE n:', Postgres' error position, or else (DuckDB
    binder and catalog errors carry no position) the first line of the SQL naming the identifier in the error."""
    match = re.search(r"LINE (\d+):", message)
    line = int(match.group(1)) if match else position_line
    if line is None and rendered:
        line = _identifier_line(message, rendered)
    lines = message.strip().splitlines() or [message]
    hint = next((h.strip() for h in lines[1:2] if h.startswith(("Candidate bindings", "Did you mean"))), "")
    return ModelError(model.relative_path, model.file_line(line) if line else model.body_line,
                      f"SQL error: {lines[0]}" + (f" ({hint})" if hint else ""))


def _identifier_line(message: str, rendered: str) -> int | None:
    """Line of `rendered` where the identifier an error names first appears (whole word, case-insensitive)."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    match = re.search(r'"([^"]+)"', first) or re.search(r"with name (\S+?)(?: does|!|$)", first)
    if not match:
        return None
    word = re.compile(rf"(?<![\w.]){re.escape(match.group(1).split('.')[-1])}(?!\w)", re.IGNORECASE)
    for number, text in enumerate(rendered.splitlines(), start=1):
        if word.search(text.split("--", 1)[0]):
            return number
    return None


def _check_refs(project: Project) -> None:
    for model in project.models.values():
        if not model.valid:
            continue
        for ref in model.refs:
            if ref.name not in project.models:
                known = ", ".join(sorted(project.models)) or "none"
                model.fail(ref.line, f"ref('{ref.name}') names no model (models: {known})", ref.path)
                break
            if ref.name == model.name:
                model.fail(ref.line, f"ref('{ref.name}') refers to the model itself", ref.path)
                break


def _check_cycles(project: Project) -> None:
    """Every model on a dependency cycle is invalid, and its error lists the cycle with file lines."""
    state: dict[str, int] = {}   # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        model = project.models[name]
        for ref in model.refs:
            up = ref.name
            if up not in project.models or up == name:
                continue
            if state.get(up) == 1:
                cycle = stack[stack.index(up):] + [up]
                text = " -> ".join(cycle)
                where = ", ".join(_ref_location(project.models[a], b) for a, b in zip(cycle, cycle[1:], strict=False))
                for member in set(cycle):
                    if project.models[member].valid or "dependency cycle" not in str(project.models[member].error):
                        ref = _ref(project.models[member], cycle[cycle.index(member) + 1])
                        project.models[member].fail(ref.line if ref else None, f"dependency cycle: {text} "
                                                    f"(refs at {where})", ref.path if ref else "")
            elif state.get(up) is None:
                visit(up)
        stack.pop()
        state[name] = 2

    for name in sorted(project.models):
        if state.get(name) is None:
            visit(name)


def _ref(model: SqlModel, target: str) -> Ref | None:
    return next((r for r in model.refs if r.name == target), None)


def _ref_location(model: SqlModel, target: str) -> str:
    ref = _ref(model, target)
    return f"{ref.path or model.relative_path}:{ref.line}" if ref else model.relative_path


def render_model(model: SqlModel, tenant: str, day: dt.date | None) -> str:
    variables: dict[str, object] = {"tenant": tenant}
    if model.partitioned and day is not None:
        variables["partition_date"] = day.isoformat()
    return render(model.body, model.relative_path, model.body_line, variables)
