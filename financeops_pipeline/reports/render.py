"""Show stored report rows: exact decimal money (from minor units, never float) as CSV, XLSX, HTML, markdown."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from decimal import Decimal

from financeops_pipeline.money import currency_exponent, from_minor
from financeops_pipeline.reports.catalog import Column, Section


def money_text(amount_minor: int | None, currency: str) -> str:
    """'1234.50' for 123450 USD, '-5' for -5 JPY: exact, with the currency's ISO 4217 decimals."""
    if amount_minor is None:
        return ""
    return f"{from_minor(amount_minor, currency):.{currency_exponent(currency)}f}"


def rate_text(rate: Decimal | None) -> str:
    """A stored fraction (numeric, 4 decimals) as a percentage with 2 decimals: Decimal('0.8226') -> '82.26%'."""
    return "" if rate is None else f"{(Decimal(rate) * 100).quantize(Decimal('0.01'))}%"


def display(value: object, column: Column, row: dict) -> str:
    """Text of one cell for CSV, HTML and markdown."""
    if value is None:
        return ""
    if column.kind == "money":
        return money_text(value, row["currency"])
    if column.kind == "rate":
        return rate_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip() if isinstance(value, str) else str(value)


def display_rows(section: Section, rows: list[dict]) -> list[dict[str, str]]:
    return [{c.name: display(r.get(c.name), c, r) for c in section.columns} for r in rows]


def write_csv(sections: list[tuple[Section, list[dict]]]) -> str:
    """One section: plain CSV. Several: each preceded by a `# <table>` line and separated by a blank line."""
    out = io.StringIO()
    for i, (section, rows) in enumerate(sections):
        if len(sections) > 1:
            out.write(("\n" if i else "") + f"# {section.table}\n")
        writer = csv.DictWriter(out, fieldnames=section.column_names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(display_rows(section, rows))
    return out.getvalue()


_NUMERIC_TD = '<td class="n">'


def write_html(title: str, sections: list[tuple[Section, list[dict]]]) -> str:
    """A self-contained HTML page, one table per section; numbers right-aligned."""
    parts = [f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif}table{border-collapse:collapse;margin-bottom:1.5em}"
             "td,th{border:1px solid #ccc;padding:2px 8px}td.n{text-align:right;font-variant-numeric:tabular-nums}"
             "</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    for section, rows in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2><table><thead><tr>")
        parts += [f"<th>{html.escape(c.name)}</th>" for c in section.columns]
        parts.append("</tr></thead><tbody>")
        for row in rows:
            cells = "".join(
                (_NUMERIC_TD if c.kind in ("money", "int", "rate") else "<td>")
                + html.escape(display(row.get(c.name), c, row)) + "</td>" for c in section.columns)
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_xlsx(title: str, sections: list[tuple[Section, list[dict]]]) -> bytes:
    """An XLSX workbook, one sheet per section. Money cells hold the exact Decimal (written as its decimal
    text in the file) with a number format of the currency's decimals; rates are Decimal with a % format."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for section, rows in sections:
        sheet = book.create_sheet(section.title[:31])
        sheet.append(section.column_names)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            values = []
            for c in section.columns:
                value = row.get(c.name)
                if value is not None and c.kind == "money":
                    value = from_minor(value, row["currency"])
                elif isinstance(value, str):
                    value = value.strip()
                values.append(value)
            sheet.append(values)
            excel_row = sheet.max_row
            for j, c in enumerate(section.columns, start=1):
                cell = sheet.cell(row=excel_row, column=j)
                if c.kind == "money":
                    exponent = currency_exponent(row["currency"])
                    cell.number_format = "#,##0" + ("." + "0" * exponent if exponent else "")
                elif c.kind == "rate":
                    cell.number_format = "0.00%"
                elif c.kind == "date":
                    cell.number_format = "yyyy-mm-dd"
        for j, c in enumerate(section.columns, start=1):
            sheet.column_dimensions[sheet.cell(row=1, column=j).column_letter].width = max(12, len(c.name) + 2)
        sheet.freeze_panes = "A2"
    book.properties.title = title
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def markdown(section: Section, rows: list[dict], columns: list[str] | None = None, limit: int = 30) -> str:
    """Markdown preview of a section (exact money text) for Dagster metadata."""
    from financeops_pipeline.reports.build import markdown_table

    shown = [c for c in section.columns if columns is None or c.name in columns]
    texts = [{c.name: display(r.get(c.name), c, r) for c in shown} | {"tenant": r.get("tenant", "")} for r in rows]
    names = (["tenant"] if rows and "tenant" in rows[0] else []) + [c.name for c in shown]
    return markdown_table(texts, names, limit=limit)
