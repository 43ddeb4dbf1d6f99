"""The transition table of the TLS 1.0-1.2 handshakes, in one place (RFC 5246 §7.3, Figures 1 and 2).

Each row: state -> {input it accepts -> states it may lead to}. An input is a handshake message type
or :data:`CCS` (a ChangeCipherSpec record). Anything else in that state is ``unexpected_message``
naming what was expected and what arrived. The state classes in ``client.py`` / ``server.py`` carry
the data valid in each state; :func:`check_input` and :func:`check_next` enforce this table.

Full handshake (client view)::

    WaitServerHello -SH-> WaitCertificate -Cert-> WaitServerKeyExchange -SKE-> WaitServerHelloDone
        (RSA: WaitCertificate -Cert-> WaitServerHelloDone)  -SHD-> WaitChangeCipherSpec -CCS-> WaitFinished -Fin-> Connected
Abbreviated (resumed) handshake (client view)::

    WaitServerHello -SH(same session id)-> WaitChangeCipherSpec -CCS-> WaitFinished -Fin-> Connected
"""

from __future__ import annotations

from typing import Any, Final

from tlsstate.wire.constants import HandshakeType
from tlsstate.wire.errors import InternalError, UnexpectedMessage

#: The ChangeCipherSpec "input" (a record type, not a handshake message; RFC 5246 §7.1).
CCS: Final = "ChangeCipherSpec"

Input = HandshakeType | str

H = HandshakeType

# fmt: off
TRANSITIONS: Final[dict[str, dict[Input, tuple[str, ...]]]] = {
    # ---- client (RFC 5246 §7.3 Figure 1 and Figure 2) ----
    "ClientStart": {},                                                    # start_handshake() not called yet
    "ClientWaitServerHello": {H.SERVER_HELLO: ("ClientWaitCertificate", "ClientWaitChangeCipherSpec")},
    "ClientWaitCertificate": {H.CERTIFICATE: ("ClientWaitServerKeyExchange", "ClientWaitServerHelloDone")},
    "ClientWaitServerKeyExchange": {H.SERVER_KEY_EXCHANGE: ("ClientWaitServerHelloDone",)},
    "ClientWaitServerHelloDone": {
        H.CERTIFICATE_REQUEST: ("ClientWaitServerHelloDone",),
        H.SERVER_HELLO_DONE: ("ClientWaitChangeCipherSpec",),
    },
    "ClientWaitChangeCipherSpec": {  # RFC 5077 §3.3: NewSessionTicket when ServerHello announced it
        H.NEW_SESSION_TICKET: ("ClientWaitChangeCipherSpec",),
        CCS: ("ClientWaitFinished",),
    },
    "ClientWaitFinished": {H.FINISHED: ("ClientConnected",)},
    "ClientConnected": {H.HELLO_REQUEST: ("ClientConnected",)},          # answered with no_renegotiation
    # ---- server ----
    "ServerWaitClientHello": {
        H.CLIENT_HELLO: ("ServerWaitClientKeyExchange", "ServerWaitClientCertificate", "ServerWaitChangeCipherSpec"),
    },
    "ServerWaitClientCertificate": {  # after a CertificateRequest; SSL 3.0 clients may skip it (no_certificate)
        H.CERTIFICATE: ("ServerWaitClientKeyExchange",),
        H.CLIENT_KEY_EXCHANGE: ("ServerWaitChangeCipherSpec",),
    },
    "ServerWaitClientKeyExchange": {
        H.CLIENT_KEY_EXCHANGE: ("ServerWaitChangeCipherSpec", "ServerWaitCertificateVerify"),
    },
    "ServerWaitCertificateVerify": {H.CERTIFICATE_VERIFY: ("ServerWaitChangeCipherSpec",)},  # §7.4.8
    "ServerWaitChangeCipherSpec": {CCS: ("ServerWaitFinished",)},
    "ServerWaitFinished": {H.FINISHED: ("ServerConnected",)},
    "ServerConnected": {H.CLIENT_HELLO: ("ServerConnected",)},           # answered with no_renegotiation
}
# fmt: on


def input_name(value: Input) -> str:
    """``ServerHello``-style name of an input, for error messages."""
    if isinstance(value, str):
        return value
    return "".join(part.capitalize() for part in HandshakeType(value).name.split("_"))


def _name_of_type(msg_type: int) -> str:
    try:
        return input_name(HandshakeType(msg_type))
    except ValueError:
        return f"handshake type {msg_type}"


def check_input(state: str, received: int | str) -> None:
    """UnexpectedMessage unless ``state`` accepts ``received`` (RFC 5246 §7.3; alert unexpected_message)."""
    accepted: dict[Any, tuple[str, ...]] = TRANSITIONS[state]  # HandshakeType keys hash and compare as ints
    if received in accepted:
        return
    got = received if isinstance(received, str) else _name_of_type(received)
    expected = " or ".join(input_name(i) for i in accepted)
    raise UnexpectedMessage(f"{state}: expected {expected}, received {got}")


def check_next(state: str, received: int | str, next_state: str) -> None:
    """Guard that a handler moved along a row of the table (a bug otherwise: internal_error)."""
    row: dict[Any, tuple[str, ...]] = TRANSITIONS[state]
    allowed = row.get(received, ())
    if next_state not in allowed:
        raise InternalError(f"transition {state} --{received}--> {next_state} is not in the table")
