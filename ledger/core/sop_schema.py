"""SOP definition files as plain mappings: checking, building, writing back and hashing.

Pure: no file I/O and no YAML here; the caller hands over an already parsed mapping.
Every refusal is a :class:`DefinitionError` naming the source, the field path and the
problem. Field paths use the key names of the file and **0-based list positions**
(``steps[3].next`` is the fourth listed step); messages also name the step *number*.

Checking runs in two passes: each part on its own (keys, types, formats), then the flow
as a whole (role references, ``next`` chain, per-unit segments, returns, hand-over).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from difflib import get_close_matches
from typing import Any, NoReturn, TypeVar

from ledger.core.errors import DefinitionError
from ledger.core.sop import (
    Action,
    Approver,
    HandOver,
    Identity,
    Inference,
    ReturnRule,
    Role,
    SopDefinition,
    Step,
    Text,
    TimeStandard,
    TimeUnit,
)

__all__ = ["content_hash", "definition_from_mapping", "definition_to_mapping", "parse_time"]

T = TypeVar("T")

_SOP_ID = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")
_ROLE_CODE = re.compile(r"[a-z][a-z0-9_]*")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"\s*([0-9]+)\s+(menit|jam|hari)\s*", re.IGNORECASE)
_TIME_UNITS = {
    "menit": (TimeUnit.MINUTES, 1),
    "jam": (TimeUnit.MINUTES, 60),
    "hari": (TimeUnit.WORKING_DAYS, 1),
}

_TOP_KEYS = ({"sop_id", "version", "identity", "roles", "steps"}, {"inferences"})
_IDENTITY_KEYS = (
    {"agency", "number", "name", "created", "effective", "approver"}
    | {"record_keeping", "frequency", "source_file"},
    {"revised", "legal_basis", "qualifications", "related_sops", "equipment", "warning"},
)
_TEXT_KEYS = ({"id", "en"}, set[str]())
_APPROVER_KEYS = ({"title", "name", "nip"}, set[str]())
_ROLE_KEYS = ({"code", "name"}, {"inferred"})
_STEP_KEYS = (
    {"number", "text", "accountable", "actions", "time", "next"},
    {"roles", "participants", "roles_inferred", "inputs", "outputs", "per_unit"}
    | {"decision", "returns", "hand_over", "segregated_from"},
)
_TIME_KEYS = ({"raw", "unit", "amount"}, set[str]())
_RETURN_KEYS = ({"targets", "default"}, {"inferred"})
_HAND_OVER_KEYS = ({"sop_id", "step"}, set[str]())
_INFERENCE_KEYS = ({"field", "choice", "reason"}, set[str]())
_ACTION_VALUES = frozenset(action.value for action in Action)
_IMPLICIT_ACTIONS = {Action.APPROVAL, Action.RETURN_FOR_COMPLETION}


# --------------------------------------------------------------------------- public API


def definition_from_mapping(data: Mapping[str, Any], source: str) -> SopDefinition:
    """Build the frozen definition from a parsed mapping, or raise DefinitionError."""
    ctx = _Ctx(source)
    top = _record(ctx, data, "(top level)", _TOP_KEYS)
    sop_id = _sop_id(ctx, top["sop_id"], "sop_id")
    version = _string(ctx, top["version"], "version")
    identity = _identity(ctx, top["identity"], "identity")
    roles = _list_of(ctx, top["roles"], "roles", _role, required=True)
    _check_roles(ctx, roles)
    steps = _list_of(ctx, top["steps"], "steps", _step, required=True)
    _check_flow(ctx, {role.code for role in roles}, steps)
    inferences = _list_of(ctx, top.get("inferences", []), "inferences", _inference)
    defn = SopDefinition(sop_id, version, identity, roles, steps, inferences)
    return replace(defn, content_hash=content_hash(defn))


def definition_to_mapping(defn: SopDefinition) -> dict[str, Any]:
    """The JSON-safe mapping that ``definition_from_mapping`` turns back into ``defn``."""
    return {
        "sop_id": defn.sop_id,
        "version": defn.version,
        "identity": _identity_out(defn.identity),
        "roles": [_role_out(role) for role in defn.roles],
        "steps": [_step_out(step) for step in defn.steps],
        "inferences": [_inference_out(inference) for inference in defn.inferences],
    }


def content_hash(defn: SopDefinition) -> str:
    """SHA-256 (lowercase hex) of the canonical JSON of the definition's mapping."""
    canonical = json.dumps(
        definition_to_mapping(defn), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_time(raw: str) -> tuple[TimeUnit, int] | None:
    """``"60 menit"`` -> (MINUTES, 60), ``"1 jam"`` -> (MINUTES, 60), ``"3 Hari"`` ->
    (WORKING_DAYS, 3); None when the text is not one of those forms."""
    match = _TIME.fullmatch(raw)
    if match is None:
        return None
    unit, factor = _TIME_UNITS[match.group(2).lower()]
    return unit, int(match.group(1)) * factor


# --------------------------------------------------------------------------- primitives


@dataclass(frozen=True, slots=True)
class _Ctx:
    source: str

    def fail(self, path: str, problem: str) -> NoReturn:
        raise DefinitionError(self.source, path, problem)


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _record(
    ctx: _Ctx, value: object, path: str, keys: tuple[set[str], set[str]]
) -> Mapping[str, Any]:
    """A mapping with all required keys and no unknown ones."""
    if not isinstance(value, Mapping):
        ctx.fail(path, f"must be a mapping (key: value), not {_type_name(value)}.")
    required, optional = keys
    prefix = "" if path == "(top level)" else f"{path}."
    for key in value:
        if key not in required | optional:
            ctx.fail(f"{prefix}{key}", _unknown_key_problem(key, required | optional))
    for key in sorted(required - set(value)):
        ctx.fail(f"{prefix}{key}", "required key is missing.")
    return value


def _unknown_key_problem(key: object, allowed: set[str]) -> str:
    close = get_close_matches(str(key), sorted(allowed), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"unknown key '{key}'.{hint} Allowed: {', '.join(sorted(allowed))}."


def _list(ctx: _Ctx, value: object, path: str, *, required: bool = False) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        ctx.fail(path, f"must be a list, not {_type_name(value)}.")
    if required and not value:
        ctx.fail(path, "must not be empty.")
    return value


def _list_of(
    ctx: _Ctx,
    value: object,
    path: str,
    item: Callable[[_Ctx, Any, str], T],
    *,
    required: bool = False,
) -> tuple[T, ...]:
    items = _list(ctx, value, path, required=required)
    return tuple(item(ctx, element, f"{path}[{index}]") for index, element in enumerate(items))


def _string(ctx: _Ctx, value: object, path: str) -> str:
    if not isinstance(value, str):
        ctx.fail(path, f"must be a text string, not {_type_name(value)} (quote it in YAML).")
    if not value.strip():
        ctx.fail(path, "must not be empty.")
    return value


def _string_or_blank(ctx: _Ctx, value: object, path: str) -> str:
    """A text that may be empty: the source left the cell blank."""
    return "" if value == "" else _string(ctx, value, path)


def _optional_string(ctx: _Ctx, value: object, path: str) -> str | None:
    return None if value is None else _string(ctx, value, path)


def _strings(ctx: _Ctx, value: object, path: str, *, required: bool = False) -> tuple[str, ...]:
    return _list_of(ctx, value, path, _string, required=required)


def _bool(ctx: _Ctx, value: object, path: str) -> bool:
    if not isinstance(value, bool):
        ctx.fail(path, f"must be true or false, not {_type_name(value)}.")
    return value


def _positive_int(ctx: _Ctx, value: object, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        ctx.fail(path, f"must be a whole number, not {_type_name(value)}.")
    if value < 1:
        ctx.fail(path, f"must be a positive number, not {value}.")
    return value


def _unique(ctx: _Ctx, values: Sequence[object], path: str) -> None:
    for index, value in enumerate(values):
        if value in values[:index]:
            ctx.fail(f"{path}[{index}]", f"'{value}' is listed twice.")


def _date(ctx: _Ctx, value: object, path: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        ctx.fail(path, f"must be an ISO date YYYY-MM-DD, not {value!r}.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        ctx.fail(path, f"'{value}' is not a real calendar date.")


def _optional_date(ctx: _Ctx, value: object, path: str) -> date | None:
    return None if value is None else _date(ctx, value, path)


def _sop_id(ctx: _Ctx, value: object, path: str) -> str:
    text = _string(ctx, value, path)
    if not _SOP_ID.fullmatch(text):
        ctx.fail(path, f"'{text}' is not an SOP id: use lowercase letters, digits, '.' and '-'.")
    return text


def _text(ctx: _Ctx, value: object, path: str) -> Text:
    data = _record(ctx, value, path, _TEXT_KEYS)
    return Text(
        id=_string(ctx, data["id"], f"{path}.id"), en=_string(ctx, data["en"], f"{path}.en")
    )


# --------------------------------------------------------------------------- identity


def _identity(ctx: _Ctx, value: object, path: str) -> Identity:
    data = _record(ctx, value, path, _IDENTITY_KEYS)

    def strings(key: str) -> tuple[str, ...]:
        return _strings(ctx, data.get(key, []), f"{path}.{key}", required=key == "agency")

    def text(key: str) -> str:
        return _string(ctx, data[key], f"{path}.{key}")

    return Identity(
        agency=strings("agency"),
        number=text("number"),
        name=_text(ctx, data["name"], f"{path}.name"),
        created=text("created"),
        revised=_optional_date(ctx, data.get("revised"), f"{path}.revised"),
        effective=_date(ctx, data["effective"], f"{path}.effective"),
        approver=_approver(ctx, data["approver"], f"{path}.approver"),
        legal_basis=strings("legal_basis"),
        qualifications=strings("qualifications"),
        related_sops=strings("related_sops"),
        equipment=strings("equipment"),
        warning=_optional_string(ctx, data.get("warning"), f"{path}.warning"),
        record_keeping=_string_or_blank(ctx, data["record_keeping"], f"{path}.record_keeping"),
        frequency=text("frequency"),
        source_file=text("source_file"),
    )


def _approver(ctx: _Ctx, value: object, path: str) -> Approver:
    data = _record(ctx, value, path, _APPROVER_KEYS)
    title, name, nip = (
        _string(ctx, data[key], f"{path}.{key}") for key in ("title", "name", "nip")
    )
    return Approver(title=title, name=name, nip=nip)


def _role(ctx: _Ctx, value: object, path: str) -> Role:
    data = _record(ctx, value, path, _ROLE_KEYS)
    return Role(
        code=_role_code(ctx, data["code"], f"{path}.code"),
        name=_text(ctx, data["name"], f"{path}.name"),
        inferred=_bool(ctx, data.get("inferred", False), f"{path}.inferred"),
    )


def _role_code(ctx: _Ctx, value: object, path: str) -> str:
    code = _string(ctx, value, path)
    if not _ROLE_CODE.fullmatch(code):
        ctx.fail(path, f"'{code}' is not a role code: use lowercase letters, digits and '_'.")
    return code


def _check_roles(ctx: _Ctx, roles: Sequence[Role]) -> None:
    codes = [role.code for role in roles]
    for index, code in enumerate(codes):
        if code in codes[:index]:
            ctx.fail(f"roles[{index}].code", f"role code '{code}' is used twice.")


def _inference(ctx: _Ctx, value: object, path: str) -> Inference:
    data = _record(ctx, value, path, _INFERENCE_KEYS)
    field, choice, reason = (
        _string(ctx, data[key], f"{path}.{key}") for key in ("field", "choice", "reason")
    )
    return Inference(field=field, choice=choice, reason=reason)


# --------------------------------------------------------------------------- one step


def _step(ctx: _Ctx, value: object, path: str) -> Step:
    data = _record(ctx, value, path, _STEP_KEYS)
    accountable = _string(ctx, data["accountable"], f"{path}.accountable")
    step = Step(
        number=_positive_int(ctx, data["number"], f"{path}.number"),
        text=_text(ctx, data["text"], f"{path}.text"),
        accountable=accountable,
        roles=_codes(ctx, data.get("roles", [accountable]), f"{path}.roles", required=True),
        participants=_codes(ctx, data.get("participants", []), f"{path}.participants"),
        actions=_actions(ctx, data["actions"], f"{path}.actions"),
        inputs=_strings(ctx, data.get("inputs", []), f"{path}.inputs"),
        outputs=_strings(ctx, data.get("outputs", []), f"{path}.outputs"),
        time=_time(ctx, data["time"], f"{path}.time"),
        next=None if data["next"] is None else _positive_int(ctx, data["next"], f"{path}.next"),
        per_unit=_bool(ctx, data.get("per_unit", False), f"{path}.per_unit"),
        decision=_bool(ctx, data.get("decision", False), f"{path}.decision"),
        returns=_optional(ctx, data.get("returns"), f"{path}.returns", _returns),
        hand_over=_optional(ctx, data.get("hand_over"), f"{path}.hand_over", _hand_over),
        segregated_from=_numbers(ctx, data.get("segregated_from", []), f"{path}.segregated_from"),
        roles_inferred=_bool(ctx, data.get("roles_inferred", False), f"{path}.roles_inferred"),
    )
    _check_step_alone(ctx, step, path)
    return step


def _optional(ctx: _Ctx, value: object, path: str, item: Callable[[_Ctx, Any, str], T]) -> T | None:
    return None if value is None else item(ctx, value, path)


def _codes(ctx: _Ctx, value: object, path: str, *, required: bool = False) -> tuple[str, ...]:
    codes = _strings(ctx, value, path, required=required)
    _unique(ctx, codes, path)
    return codes


def _numbers(ctx: _Ctx, value: object, path: str, *, required: bool = False) -> tuple[int, ...]:
    numbers = _list_of(ctx, value, path, _positive_int, required=required)
    _unique(ctx, numbers, path)
    return numbers


def _actions(ctx: _Ctx, value: object, path: str) -> tuple[Action, ...]:
    actions = _list_of(ctx, value, path, _action, required=True)
    _unique(ctx, actions, path)
    return actions


def _action(ctx: _Ctx, value: object, path: str) -> Action:
    if not isinstance(value, str) or value not in _ACTION_VALUES:
        allowed = ", ".join(action.value for action in Action)
        ctx.fail(path, f"{value!r} is not an action; the actions are: {allowed}.")
    return Action(value)


def _time(ctx: _Ctx, value: object, path: str) -> TimeStandard:
    if isinstance(value, Mapping):
        return _time_from_mapping(ctx, value, path)
    raw = _string(ctx, value, path)
    parsed = parse_time(raw)
    if parsed is None:
        ctx.fail(path, f"'{raw}' is not a time standard like '60 menit', '2 jam' or '3 hari'.")
    return TimeStandard(raw=raw, unit=parsed[0], amount=parsed[1])


def _time_from_mapping(ctx: _Ctx, value: Mapping[str, Any], path: str) -> TimeStandard:
    data = _record(ctx, value, path, _TIME_KEYS)
    standard = _time(ctx, data["raw"], f"{path}.raw")
    if _string(ctx, data["unit"], f"{path}.unit") != standard.unit.value:
        ctx.fail(f"{path}.unit", f"'{standard.raw}' is in {standard.unit.value}.")
    if _positive_int(ctx, data["amount"], f"{path}.amount") != standard.amount:
        ctx.fail(f"{path}.amount", f"'{standard.raw}' amounts to {standard.amount}.")
    return standard


def _returns(ctx: _Ctx, value: object, path: str) -> ReturnRule:
    data = _record(ctx, value, path, _RETURN_KEYS)
    rule = ReturnRule(
        targets=_numbers(ctx, data["targets"], f"{path}.targets", required=True),
        default=_positive_int(ctx, data["default"], f"{path}.default"),
        inferred=_bool(ctx, data.get("inferred", False), f"{path}.inferred"),
    )
    if rule.default not in rule.targets:
        ctx.fail(f"{path}.default", f"step {rule.default} is not one of the return targets.")
    return rule


def _hand_over(ctx: _Ctx, value: object, path: str) -> HandOver:
    data = _record(ctx, value, path, _HAND_OVER_KEYS)
    return HandOver(
        sop_id=_sop_id(ctx, data["sop_id"], f"{path}.sop_id"),
        step=_positive_int(ctx, data["step"], f"{path}.step"),
    )


def _check_step_alone(ctx: _Ctx, step: Step, path: str) -> None:
    """Rules that need only the step itself."""
    if step.accountable not in step.roles:
        ctx.fail(f"{path}.roles", f"must include the accountable role '{step.accountable}'.")
    for index, participant in enumerate(step.participants):
        if participant in step.roles:
            ctx.fail(f"{path}.participants[{index}]", f"'{participant}' is already in roles.")
    if step.decision:
        _check_decision(ctx, step, path)
    for index, action in enumerate(step.actions):
        if action in _IMPLICIT_ACTIONS and not step.decision:
            ctx.fail(f"{path}.actions[{index}]", f"'{action}' is implied, do not list it.")


def _check_decision(ctx: _Ctx, step: Step, path: str) -> None:
    if step.actions != (Action.APPROVAL,):
        ctx.fail(f"{path}.actions", "a decision step's actions must be exactly [approval].")
    if step.returns is None:
        ctx.fail(f"{path}.returns", "a decision step must say where a refusal returns to.")


# --------------------------------------------------------------------------- the flow


@dataclass(frozen=True, slots=True)
class _Flow:
    """The steps with the lookups the flow checks need."""

    steps: tuple[Step, ...]
    index: dict[int, int]
    chain: tuple[int, ...]

    def path(self, number: int, suffix: str) -> str:
        return f"steps[{self.index[number]}].{suffix}"

    def rank(self, number: int) -> int:
        return self.chain.index(number)


def _check_flow(ctx: _Ctx, role_codes: set[str], steps: tuple[Step, ...]) -> None:
    index = _step_index(ctx, steps)
    for position, step in enumerate(steps):
        _check_role_refs(ctx, role_codes, step, f"steps[{position}]")
        _check_next(ctx, index, step, f"steps[{position}].next")
    flow = _Flow(steps, index, _chain(ctx, steps, index))
    _check_reachable(ctx, flow)
    _check_per_unit(ctx, flow)
    segments = _segments(flow)
    for step in steps:
        _check_returns(ctx, flow, segments, step)
        _check_segregation(ctx, flow, step)
        _check_hand_over(ctx, flow, step)


def _step_index(ctx: _Ctx, steps: Sequence[Step]) -> dict[int, int]:
    index: dict[int, int] = {}
    for position, step in enumerate(steps):
        if step.number in index:
            first = index[step.number]
            ctx.fail(f"steps[{position}].number", f"step {step.number} is already steps[{first}].")
        index[step.number] = position
    return index


def _check_role_refs(ctx: _Ctx, role_codes: set[str], step: Step, path: str) -> None:
    if step.accountable not in role_codes:
        ctx.fail(f"{path}.accountable", _unknown_role(step.accountable, role_codes))
    for key, codes in (("roles", step.roles), ("participants", step.participants)):
        for position, code in enumerate(codes):
            if code not in role_codes:
                ctx.fail(f"{path}.{key}[{position}]", _unknown_role(code, role_codes))


def _unknown_role(code: str, role_codes: set[str]) -> str:
    return f"unknown role '{code}'; the roles are: {', '.join(sorted(role_codes))}."


def _check_next(ctx: _Ctx, index: Mapping[int, int], step: Step, path: str) -> None:
    if step.next is not None and step.next not in index:
        ctx.fail(path, f"step {step.number} points to step {step.next}, which does not exist.")


def _chain(ctx: _Ctx, steps: Sequence[Step], index: Mapping[int, int]) -> tuple[int, ...]:
    """Follow ``next`` from the first listed step; refuse a loop without exit."""
    order: list[int] = []
    current: int | None = steps[0].number
    while current is not None:
        if current in order:
            last = order[-1]
            ctx.fail(
                f"steps[{index[last]}].next",
                f"step {last} leads back to step {current}: a loop without exit "
                "(the chain must end at a step with next: null).",
            )
        order.append(current)
        current = steps[index[current]].next
    return tuple(order)


def _check_reachable(ctx: _Ctx, flow: _Flow) -> None:
    for position, step in enumerate(flow.steps):
        if step.number not in flow.chain:
            ctx.fail(
                f"steps[{position}]",
                f"step {step.number} cannot be reached from the first step "
                f"({flow.chain[0]}) by following next.",
            )


def _check_per_unit(ctx: _Ctx, flow: _Flow) -> None:
    first, last = flow.chain[0], flow.chain[-1]
    if flow.steps[flow.index[first]].per_unit:
        ctx.fail(flow.path(first, "per_unit"), "the first step cannot be per-unit.")
    if flow.steps[flow.index[last]].per_unit:
        ctx.fail(
            flow.path(last, "per_unit"),
            "a per-unit segment must be followed by a join step, so the last step "
            "cannot be per-unit.",
        )


def _segments(flow: _Flow) -> dict[int, tuple[int, ...]]:
    """Each per-unit step's run of consecutive per-unit steps in chain order."""
    segments: dict[int, tuple[int, ...]] = {}
    run: list[int] = []
    for number in (*flow.chain, None):
        if number is not None and flow.steps[flow.index[number]].per_unit:
            run.append(number)
            continue
        segments.update(dict.fromkeys(run, tuple(run)))
        run = []
    return segments


def _check_returns(
    ctx: _Ctx, flow: _Flow, segments: Mapping[int, tuple[int, ...]], step: Step
) -> None:
    if step.returns is None:
        return
    for position, target in enumerate(step.returns.targets):
        path = flow.path(step.number, f"returns.targets[{position}]")
        _check_earlier(ctx, flow, step.number, target, path)
        segment = segments.get(step.number)
        if segment is not None and target not in segment:
            ctx.fail(
                path,
                f"step {step.number} is in the per-unit segment {list(segment)}; "
                f"it may only return to a step of that segment, not {target}.",
            )


def _check_earlier(ctx: _Ctx, flow: _Flow, number: int, target: int, path: str) -> None:
    if target not in flow.index:
        ctx.fail(path, f"step {target} does not exist.")
    if flow.rank(target) >= flow.rank(number):
        ctx.fail(path, f"step {target} does not come before step {number} in the flow.")


def _check_segregation(ctx: _Ctx, flow: _Flow, step: Step) -> None:
    for position, other in enumerate(step.segregated_from):
        path = flow.path(step.number, f"segregated_from[{position}]")
        _check_earlier(ctx, flow, step.number, other, path)


def _check_hand_over(ctx: _Ctx, flow: _Flow, step: Step) -> None:
    if step.hand_over is not None and step.number != flow.chain[-1]:
        ctx.fail(
            flow.path(step.number, "hand_over"),
            f"only the last step of the flow ({flow.chain[-1]}) may hand over to another SOP.",
        )


# --------------------------------------------------------------------------- writing back


def _text_out(text: Text) -> dict[str, str]:
    return {"id": text.id, "en": text.en}


def _identity_out(identity: Identity) -> dict[str, Any]:
    return {
        "agency": list(identity.agency),
        "number": identity.number,
        "name": _text_out(identity.name),
        "created": identity.created,
        "revised": None if identity.revised is None else identity.revised.isoformat(),
        "effective": identity.effective.isoformat(),
        "approver": {
            "title": identity.approver.title,
            "name": identity.approver.name,
            "nip": identity.approver.nip,
        },
        "legal_basis": list(identity.legal_basis),
        "qualifications": list(identity.qualifications),
        "related_sops": list(identity.related_sops),
        "equipment": list(identity.equipment),
        "warning": identity.warning,
        "record_keeping": identity.record_keeping,
        "frequency": identity.frequency,
        "source_file": identity.source_file,
    }


def _role_out(role: Role) -> dict[str, Any]:
    return {"code": role.code, "name": _text_out(role.name), "inferred": role.inferred}


def _step_out(step: Step) -> dict[str, Any]:
    return {
        "number": step.number,
        "text": _text_out(step.text),
        "accountable": step.accountable,
        "roles": list(step.roles),
        "participants": list(step.participants),
        "roles_inferred": step.roles_inferred,
        "actions": [action.value for action in step.actions],
        "inputs": list(step.inputs),
        "outputs": list(step.outputs),
        "time": {"raw": step.time.raw, "unit": step.time.unit.value, "amount": step.time.amount},
        "next": step.next,
        "per_unit": step.per_unit,
        "decision": step.decision,
        "returns": _returns_out(step.returns),
        "hand_over": _hand_over_out(step.hand_over),
        "segregated_from": list(step.segregated_from),
    }


def _returns_out(rule: ReturnRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {"targets": list(rule.targets), "default": rule.default, "inferred": rule.inferred}


def _hand_over_out(hand_over: HandOver | None) -> dict[str, Any] | None:
    if hand_over is None:
        return None
    return {"sop_id": hand_over.sop_id, "step": hand_over.step}


def _inference_out(inference: Inference) -> dict[str, str]:
    return {"field": inference.field, "choice": inference.choice, "reason": inference.reason}
