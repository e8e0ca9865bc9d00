"""A demo directory: the two seed organisations, their sub-units and the people in each lane.

Names are invented except the two approvers, who sign the published seed SOPs. NIPs follow
the PNS layout (birth date, appointment month, sex, serial).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ledger.commands import AssignRole, PublishSop, RegisterPerson, RegisterUnit
from ledger.core.events import Capacity
from ledger.core.nip import EmployeeType
from ledger.ledger import Ledger

SINCE = datetime(2023, 1, 2, tzinfo=UTC)
BIRO = "biro-org"
DINAS = "dinas-bmcktr"

UNITS: tuple[tuple[str, str, str | None, str], ...] = (
    ("setda", "Sekretariat Daerah Provinsi Sumatera Barat", None, "sekretariat"),
    (BIRO, "Biro Organisasi", "setda", "biro"),
    (f"{BIRO}.kelembagaan", "Bagian Kelembagaan dan Analisis Jabatan", BIRO, "bagian"),
    (f"{BIRO}.reformasi", "Bagian Reformasi Birokrasi", BIRO, "bagian"),
    (f"{BIRO}.tatalaksana", "Bagian Tata Laksana", BIRO, "bagian"),
    (DINAS, "Dinas Bina Marga, Cipta Karya dan Tata Ruang", None, "dinas"),
    (f"{DINAS}.sekretariat", "Sekretariat Dinas BMCKTR", DINAS, "sekretariat"),
    (f"{DINAS}.bina-marga", "Bidang Bina Marga", DINAS, "bidang"),
    (f"{DINAS}.cipta-karya", "Bidang Cipta Karya", DINAS, "bidang"),
    (f"{DINAS}.tata-ruang", "Bidang Tata Ruang", DINAS, "bidang"),
)


@dataclass(frozen=True, slots=True)
class DemoPerson:
    nip: str
    name: str
    roles: tuple[tuple[str, str], ...]
    employee_type: EmployeeType = EmployeeType.PNS


PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("197305131997032005", "Fitriati, S.Si, M.Si", (("kepala_biro", BIRO),)),
    DemoPerson("198203142006042003", "Rina Marlina, SE", (("kasubag_tu", BIRO),)),
    DemoPerson(
        "197811202003121002",
        "Andri Saputra, S.STP, M.Si",
        (("kabag_ttl", BIRO), ("kepala_bagian", f"{BIRO}.tatalaksana")),
    ),
    DemoPerson(
        "197604152002121001", "Yulianto, SH, MH", (("kepala_bagian", f"{BIRO}.kelembagaan"),)
    ),
    DemoPerson(
        "198007072005012004", "Desi Ratnasari, S.Sos", (("kepala_bagian", f"{BIRO}.reformasi"),)
    ),
    DemoPerson(
        "199001012015031001", "Fajar Hidayat, S.Kom", (("jf_pelaksana", f"{BIRO}.kelembagaan"),)
    ),
    DemoPerson("199105052015032002", "Nurul Aini, SE", (("jf_pelaksana", f"{BIRO}.kelembagaan"),)),
    DemoPerson(
        "198806162011011003", "Rudi Hartono, S.AP", (("jf_pelaksana", f"{BIRO}.reformasi"),)
    ),
    DemoPerson(
        "199202022019032004", "Sari Wulandari, S.IP", (("jf_pelaksana", f"{BIRO}.tatalaksana"),)
    ),
    DemoPerson("197209251998031003", "Erasukma Munaf, ST, MM", (("kepala_dinas", DINAS),)),
    DemoPerson("197506302000031002", "Hendra Gunawan, ST, MT", (("sekretaris", DINAS),)),
    DemoPerson("197710102003121003", "Budi Santoso, ST", (("bidang", f"{DINAS}.bina-marga"),)),
    DemoPerson("197912122005011002", "Agus Salim, ST, MT", (("bidang", f"{DINAS}.cipta-karya"),)),
    DemoPerson(
        "198104042006042001", "Lestari Dewi, ST, M.Eng", (("bidang", f"{DINAS}.tata-ruang"),)
    ),
    DemoPerson("198509092010011001", "Doni Prasetyo, SE", (("tim_sakip", DINAS),)),
    DemoPerson("198612122010012002", "Mega Putri, S.Ak", (("tim_sakip", DINAS),)),
    DemoPerson("198702202011012003", "Yuni Kartika, SE", (("subag_perencanaan", DINAS),)),
    DemoPerson("PTT2023001", "Rahmat Hidayat", (("pengadministrasi", BIRO),), EmployeeType.NON_ASN),
)


def install_directory(ledger: Ledger) -> None:
    """Register every demo unit, person and role (skips what is already there)."""
    known = ledger.org_chart(refresh=True).units
    for code, name, parent, kind in UNITS:
        if code not in known:
            ledger.register_unit(RegisterUnit(code=code, name=name, parent=parent, kind=kind))
    for person in PEOPLE:
        if ledger.person(person.nip) is not None:
            continue
        ledger.register_person(
            RegisterPerson(nip=person.nip, name=person.name, employee_type=person.employee_type)
        )
        for role, unit in person.roles:
            ledger.assign_role(
                AssignRole(
                    nip=person.nip,
                    role=role,
                    unit=unit,
                    valid_from=SINCE,
                    capacity=Capacity.DEFINITIF,
                )
            )


def publish_seeds(ledger: Ledger) -> list[str]:
    """Publish the shipped seed SOP definitions; returns the ids newly published."""
    from ledger.catalogue.loader import load_seeds

    published = []
    for definition in load_seeds():
        if ledger.publish_sop(PublishSop(definition=definition)) is not None:
            published.append(f"{definition.sop_id}@{definition.version}")
    return published


def holder(role: str, unit: str) -> str:
    """The demo NIP holding ``role`` in ``unit`` (first match)."""
    for person in PEOPLE:
        if (role, unit) in person.roles:
            return person.nip
    raise KeyError((role, unit))
