"""NIP (Nomor Induk Pegawai) parsing: the 18-digit civil-servant number.

PNS layout: birth date ``YYYYMMDD``, first appointment ``YYYYMM``, sex ``1``/``2``, serial
``NNN`` (``19730513 199703 2 005``). PPPK numbers are 18 digits with another layout, and
non-ASN staff carry a local identifier: both are stored as given, typed by employee type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ledger.core.errors import InvalidNipError


class EmployeeType(StrEnum):
    PNS = "pns"
    PPPK = "pppk"
    NON_ASN = "non_asn"


@dataclass(frozen=True, slots=True)
class PnsNip:
    """The decoded parts of a PNS NIP."""

    birth_date: date
    appointment_year: int
    appointment_month: int
    sex: int
    serial: int


def normalise_nip(raw: str) -> str:
    """Strip the spaces and dots people write NIPs with (``19730513 199703 2 005``)."""
    return "".join(ch for ch in raw if ch not in " .\t-")


def parse_pns_nip(raw: str) -> PnsNip:
    """Decode and check a PNS NIP; raise InvalidNipError naming the bad part."""
    nip = normalise_nip(raw)
    if len(nip) != 18 or not nip.isdigit():
        raise InvalidNipError(
            f"NIP {raw!r} harus 18 angka / must be 18 digits (got {len(nip)} characters)",
            field="nip",
        )
    try:
        birth = date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        raise InvalidNipError(
            f"NIP {raw!r}: tanggal lahir {nip[0:8]} tidak valid / invalid birth date",
            field="nip",
        ) from None
    year, month = int(nip[8:12]), int(nip[12:14])
    if not 1 <= month <= 12 or year < birth.year + 14:
        raise InvalidNipError(
            f"NIP {raw!r}: TMT pengangkatan {nip[8:14]} tidak valid / invalid appointment date",
            field="nip",
        )
    sex = int(nip[14])
    if sex not in (1, 2):
        raise InvalidNipError(
            f"NIP {raw!r}: kode jenis kelamin {sex} harus 1 atau 2 / sex code must be 1 or 2",
            field="nip",
        )
    return PnsNip(birth, year, month, sex, int(nip[15:18]))


def validate_nip(raw: str, employee_type: EmployeeType) -> str:
    """Return the normalised identifier, checked according to the employee type."""
    nip = normalise_nip(raw)
    if employee_type is EmployeeType.PNS:
        parse_pns_nip(nip)
    elif employee_type is EmployeeType.PPPK:
        if len(nip) != 18 or not nip.isdigit():
            raise InvalidNipError(
                f"NI PPPK {raw!r} harus 18 angka / must be 18 digits", field="nip"
            )
    elif not nip or len(nip) > 40 or not nip.isalnum():
        raise InvalidNipError(
            f"ID pegawai {raw!r} harus 1-40 huruf/angka / must be 1-40 letters or digits",
            field="nip",
        )
    return nip
