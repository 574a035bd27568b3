"""Time-zone cells of processor reports ('CET', 'PST', '+01:00', 'GMT-08:00', 'Europe/Amsterdam') as tzinfo.

Reports write the abbreviation *in force* at the time (PDT in July, PST in January), so an abbreviation is a
fixed offset: applying a DST rule again would shift summer times by an hour. Offsets are read as written, and
anything else is looked up as an IANA zone name. Abbreviations that mean several zones take the one these
reports use (Adyen and PayPal write the Java/US names): CST is US Central (-06:00), IST India (+05:30), BST
British Summer Time (+01:00), AST Atlantic (-04:00). No package maps abbreviations (they are ambiguous by
nature), so the table is here, and it is short on purpose.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

_HOURS = {
    "UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "WET": 0, "WEST": 1, "BST": 1, "IST": 5.5,
    "CET": 1, "CEST": 2, "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "AST": -4, "ADT": -3, "NST": -3.5, "NDT": -2.5,
    "BRT": -3, "ART": -3, "SGT": 8, "HKT": 8, "PHT": 8, "WIB": 7, "JST": 9, "KST": 9,
    "AWST": 8, "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13, "SAST": 2,
}
FIXED_ZONES: dict[str, tzinfo] = {
    name: UTC if hours == 0 else timezone(timedelta(minutes=round(hours * 60)), name)
    for name, hours in _HOURS.items()
}
# '+01:00', '-0800', '+5', 'UTC+05:30', 'GMT-8', 'GMT+01:00'
_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])([0-9]{1,2})(?::?([0-9]{2}))?")
_CACHE: dict[str, tzinfo | None] = {}


def zone_of(text: str) -> tzinfo | None:
    """tzinfo for a time-zone cell, or None if it names no zone."""
    hit = _CACHE.get(text, False)
    if hit is not False:
        return hit   # type: ignore[return-value]
    key = text.strip()
    zone: tzinfo | None = FIXED_ZONES.get(key.upper())
    if zone is None and key:
        offset = _OFFSET.fullmatch(key.upper())
        if offset:
            sign, hours, minutes = offset.groups()
            delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
            zone = timezone(-delta if sign == "-" else delta) if delta < timedelta(hours=18) else None
        else:
            try:
                zone = ZoneInfo(key)
            except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError for odd keys, OSError
                zone = None
    if len(_CACHE) < 1000:
        _CACHE[text] = zone
    return zone
