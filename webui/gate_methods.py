"""The gate settings page's words for the ways in: what each method means for a resident, and what the
gate's screen will offer for a ticked combination, computed by the kiosk's own `gate.core.machine.offered`
so the preview cannot drift from what the screen does."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from gate.core import machine
from gate.core.policy import POLICY_METHODS, Method, parse_methods, policy_problem
from gate.core.transaction import Rules, State
from gate.errors import GateError
from gate.i18n.marker import N_
from webui.base import error_text

EXPLAINED = {
    Method.CARD: N_("Card: the resident holds their card to the reader and the gate opens."),
    Method.PIN: N_("Resident code + PIN: the resident types their resident code and then their PIN on the "
                   "keypad."),
    Method.CARD_PIN: N_("Card + PIN: the resident holds their card to the reader and then types their PIN; both "
                        "are needed."),
    Method.FACE: N_("Face after the resident code: the resident types their resident code, then looks at the "
                    "camera, which compares them 1:1 with their own template only. Needs their separate "
                    "consent; tick 'Resident code + PIN' too, so those without face still get in."),
    Method.CARD_FACE: N_("Card + face: the resident holds their card, then looks at the camera (1:1). Needs their "
                         "separate consent; tick 'Card' or 'Card + PIN' too."),
}
NAMES = {
    Method.CARD: N_("Card"), Method.PIN: N_("Resident code + PIN"), Method.CARD_PIN: N_("Card + PIN"),
    Method.FACE: N_("Face (after the resident code)"), Method.CARD_FACE: N_("Card + face"),
}
#: The buttons of the gate's screen, as `machine.offered` names them.
BUTTONS = {"card": N_("Card"), "pin": N_("Resident code + PIN"), "face": N_("Face")}


@dataclass(frozen=True)
class Preview:
    buttons: list[str]
    #: Why the combination cannot be saved (the policy's own sentence), or None.
    problem: str | None


def method_rows() -> list[tuple[str, str, str]]:
    """(value, name, explanation) of every method, in the policy's order."""
    return [(m.value, _(NAMES[m]), _(EXPLAINED[m])) for m in POLICY_METHODS]


def preview(ticked: list[str]) -> Preview:
    """What a resident walking up to the gate sees first with these methods ticked."""
    try:
        methods = parse_methods(",".join(ticked))
    except GateError as err:
        return Preview([], error_text(err))
    problem = policy_problem(methods)
    offered = machine.offered(State(), Rules(methods=methods)) if methods else []
    return Preview([_(BUTTONS.get(way, way)) for way in offered], _(problem) if problem else None)
