"""Errors that name the file, the record and the field, so a bad input is fixable without a debugger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar


@dataclass(frozen=True)
class RecordError:
    """One rejected record: where it is, which field is wrong, why, and its raw text for quarantine."""

    file: str
    position: str  # "line 12", "Stmt[1]/Ntry[3]", "record 7"
    field: str
    message: str
    raw: str = ""

    def __str__(self) -> str:
        return f"{self.file}: {self.position}: field {self.field!r}: {self.message}"


class FieldError(Exception):
    """One field of one record cannot be read; the parser adds file and position and makes it a RecordError."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class FileRejected(Exception):
    """A whole file cannot be read (wrong format, truncated, missing required columns, bad encoding)."""

    def __init__(self, file: str, message: str, position: str = "file", field: str = "-") -> None:
        self.error = RecordError(file=file, position=position, field=field, message=message)
        super().__init__(str(self.error))


UNEXPECTED_FAILURE = "unexpected parser failure"   # the bench's bank corpus counts these as crashes
_Parsed = TypeVar("_Parsed")


def unexpected_failure(file: str, exc: Exception) -> FileRejected:
    """A parser's last resort: a file it cannot read safely is refused, naming the error, never a crash."""
    return FileRejected(file, f"{UNEXPECTED_FAILURE} ({type(exc).__name__}: {exc})")


def parse_safely(parse: Callable[[bytes, str], _Parsed], data: bytes, filename: str) -> _Parsed:
    """`parse(data, filename)`, with any error but a FileRejected refused as unexpected_failure."""
    try:
        return parse(bytes(data), filename)
    except FileRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - safety net: a file we cannot read safely, never a crash
        raise unexpected_failure(filename, exc) from None
