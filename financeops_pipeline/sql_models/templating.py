"""Sandboxed Jinja: `ref()`, `source()`, `partition_date`, `tenant` and (in tests) `this`.

The sandbox keeps a model file from reaching Python objects (attribute access to internals, calls to
anything but the functions given). Undefined names are errors, never empty strings. `ref` and `source`
render to relation names that exist in the engine that runs the SQL: in both engines a source is
`<schema>.<table>` and a model is `models.<name>` (DuckDB gets those schemas filled from Postgres).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from financeops_pipeline.sql_models.model import NAME_RE, SOURCES, ModelError, Ref, Source

FUNCTIONS = ("ref", "source")


@cache
def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


def extract_dependencies(template: str, path: str, first_line: int) -> tuple[list[Ref], list[Source]]:
    """Static ref()/source() calls of a template (arguments must be string literals), with file lines."""
    try:
        ast = environment().parse(template)
    except TemplateSyntaxError as exc:
        raise ModelError(path, first_line + (exc.lineno or 1) - 1, f"template syntax error: {exc.message}") from exc
    refs, sources = [], []
    for call in ast.find_all(nodes.Call):
        if not (isinstance(call.node, nodes.Name) and call.node.name in FUNCTIONS):
            continue
        line = first_line + call.lineno - 1
        args = call.args
        if call.kwargs or not all(isinstance(a, nodes.Const) and isinstance(a.value, str) for a in args):
            raise ModelError(path, line, f"{call.node.name}() takes string literals only")
        values = [a.value for a in args]
        if call.node.name == "ref":
            if len(values) != 1:
                raise ModelError(path, line, "ref() takes one model name, e.g. {{ ref('settlement_summary') }}")
            refs.append(Ref(values[0], line, path))
        else:
            if len(values) != 2:
                raise ModelError(path, line, "source() takes a schema and a table, e.g. "
                                             "{{ source('imports', 'processor_lines') }}")
            if tuple(values) not in SOURCES:
                known = ", ".join(f"{s}.{t}" for s, t in sorted(SOURCES))
                raise ModelError(path, line, f"source('{values[0]}', '{values[1]}') is not a pipeline table "
                                             f"(known sources: {known})")
            sources.append(Source(values[0], values[1], line))
    return refs, sources


def _ref(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(f"invalid model name {name!r}")
    return f"models.{name}"


def _source(schema: str, table: str) -> str:
    if (schema, table) not in SOURCES:
        raise ValueError(f"unknown source {schema}.{table}")
    return f"{schema}.{table}"


def render(template: str, path: str, first_line: int, variables: Mapping[str, object]) -> str:
    """Render with ref/source and the given variables; errors are ModelError with the file line."""
    try:
        return environment().from_string(template).render(ref=_ref, source=_source, **variables)
    except TemplateSyntaxError as exc:
        raise ModelError(path, first_line + (exc.lineno or 1) - 1, f"template syntax error: {exc.message}") from exc
    except (TemplateError, ValueError) as exc:
        raise ModelError(path, first_line, f"template error: {exc}") from exc
