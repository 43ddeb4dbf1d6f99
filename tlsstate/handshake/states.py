"""The transition table of the handshakes, in one place: TLS 1.0-1.2 (RFC 5246 §7.3, Figures 1 and 2) and TLS 1.3
(RFC 9846 §2 Figure 1, §4), which branches off at the hellos.

Each row: state class -> {input it accepts -> the states it may lead to}. An input is a handshake message type,
:data:`CCS` (a ChangeCipherSpec record, RFC 5246 §7.1) or :data:`START` (the client's ``start_handshake()``).
Anything else in that state is ``unexpected_message`` naming what was expected and what arrived
(:func:`check_input`); a handler moving off its row is a bug (:func:`check_next`). The state classes in
:mod:`~tlsstate.handshake.client_states` and :mod:`~tlsstate.handshake.server_states` (TLS 1.3:
:mod:`~tlsstate.handshake.tls13.client`, :mod:`~tlsstate.handshake.tls13.server`) hold the data valid in
each state and handle its inputs. In TLS 1.3 a :data:`CCS` row is middlebox compatibility mode's unprotected
ChangeCipherSpec, dropped where RFC 9846 §5 allows it (after the first ClientHello, before the peer's Finished).
``docs/handshake-states.md`` is drawn from this table by
``tools/make_state_diagrams.py``.
"""

from __future__ import annotations

from typing import Any, Final

from tlsstate.handshake.client_states import (
    ClientConnected,
    ClientStart,
    ClientWaitCertificate,
    ClientWaitChangeCipherSpec,
    ClientWaitFinished,
    ClientWaitServerHello,
    ClientWaitServerHelloDone,
    ClientWaitServerKeyExchange,
)
from tlsstate.handshake.common import State
from tlsstate.handshake.server_states import (
    ServerConnected,
    ServerWaitCertificateVerify,
    ServerWaitChangeCipherSpec,
    ServerWaitClientCertificate,
    ServerWaitClientHello,
    ServerWaitClientKeyExchange,
    ServerWaitFinished,
)
from tlsstate.handshake.tls13.client import (
    ClientConnected13,
    ClientWaitCertificate13,
    ClientWaitCertificateVerify13,
    ClientWaitEncryptedExtensions,
    ClientWaitFinished13,
    ClientWaitServerHelloAfterRetry,
)
from tlsstate.handshake.tls13.early_data import ServerWaitEndOfEarlyData
from tlsstate.handshake.tls13.post_auth import (
    ServerWaitPostHandshakeCertificate,
    ServerWaitPostHandshakeCertificateVerify,
    ServerWaitPostHandshakeFinished,
)
from tlsstate.handshake.tls13.server import (
    ServerConnected13,
    ServerWaitClientCertificate13,
    ServerWaitClientCertificateVerify13,
    ServerWaitFinished13,
    ServerWaitSecondClientHello,
)
from tlsstate.wire.constants import HandshakeType
from tlsstate.wire.errors import InternalError, UnexpectedMessage

#: The ChangeCipherSpec "input" (a record type, not a handshake message; RFC 5246 §7.1).
CCS: Final = "ChangeCipherSpec"
#: The client's own first step (no message arrives: it sends the ClientHello, RFC 5246 §7.4.1.2); also its
#: renegotiation (``renegotiate()``, RFC 5746 §3.5).
START: Final = "start_handshake()"
#: The server's own step asking for a renegotiation: it sends a HelloRequest (RFC 5246 §7.4.1.1).
REQUEST: Final = "request_renegotiation()"
#: A warning no_renegotiation answering our renegotiating ClientHello (RFC 5746 §4.2): the client carries on.
REFUSED: Final = "warning no_renegotiation"
#: The inputs that are our own steps, not something the peer sends.
OWN_STEPS: Final = (START, REQUEST, REFUSED)

Input = HandshakeType | str

H = HandshakeType

# fmt: off
TRANSITIONS: Final[dict[type[State], dict[Input, tuple[type[State], ...]]]] = {
    # ---- client (RFC 5246 §7.3 Figure 1 and Figure 2) ----
    ClientStart: {START: (ClientWaitServerHello,)},
    ClientWaitServerHello: {  # TLS 1.2 full / resumed, TLS 1.3
        H.SERVER_HELLO: (
            ClientWaitCertificate, ClientWaitChangeCipherSpec, ClientWaitEncryptedExtensions,
            ClientWaitServerHelloAfterRetry,                      # TLS 1.3 HelloRetryRequest
        ),
        REFUSED: (ClientConnected,),  # a renegotiation refused
    },
    ClientWaitCertificate: {H.CERTIFICATE: (ClientWaitServerKeyExchange, ClientWaitServerHelloDone)},  # (EC)DHE / RSA
    ClientWaitServerKeyExchange: {H.SERVER_KEY_EXCHANGE: (ClientWaitServerHelloDone,)},
    ClientWaitServerHelloDone: {
        H.CERTIFICATE_REQUEST: (ClientWaitServerHelloDone,),
        H.SERVER_HELLO_DONE: (ClientWaitChangeCipherSpec,),
    },
    ClientWaitChangeCipherSpec: {  # RFC 5077 §3.3: NewSessionTicket when ServerHello announced it
        H.NEW_SESSION_TICKET: (ClientWaitChangeCipherSpec,),
        CCS: (ClientWaitFinished,),
    },
    ClientWaitFinished: {H.FINISHED: (ClientConnected,)},
    ClientConnected: {  # RFC 5746: a secure renegotiation, or no_renegotiation
        H.HELLO_REQUEST: (ClientConnected, ClientWaitServerHello),
        START: (ClientWaitServerHello,),
    },
    # ---- TLS 1.3 client (RFC 9846 §2 Figure 1) ----
    ClientWaitServerHelloAfterRetry: {
        H.SERVER_HELLO: (ClientWaitEncryptedExtensions,), CCS: (ClientWaitServerHelloAfterRetry,),
    },
    ClientWaitEncryptedExtensions: {  # resumed with a PSK: no Certificate (RFC 9846 §2.2)
        H.ENCRYPTED_EXTENSIONS: (ClientWaitCertificate13, ClientWaitFinished13), CCS: (ClientWaitEncryptedExtensions,),
    },
    ClientWaitCertificate13: {
        H.CERTIFICATE_REQUEST: (ClientWaitCertificate13,),
        H.CERTIFICATE: (ClientWaitCertificateVerify13,),
        CCS: (ClientWaitCertificate13,),
    },
    ClientWaitCertificateVerify13: {H.CERTIFICATE_VERIFY: (ClientWaitFinished13,), CCS: (ClientWaitCertificateVerify13,)},
    ClientWaitFinished13: {H.FINISHED: (ClientConnected13,), CCS: (ClientWaitFinished13,)},
    ClientConnected13: {  # RFC 9846 §4.6: tickets, KeyUpdate, post-handshake CertificateRequest
        H.NEW_SESSION_TICKET: (ClientConnected13,), H.KEY_UPDATE: (ClientConnected13,),
        H.CERTIFICATE_REQUEST: (ClientConnected13,),
    },
    # ---- server ----
    ServerWaitClientHello: {
        H.CLIENT_HELLO: (
            ServerWaitClientKeyExchange, ServerWaitClientCertificate, ServerWaitChangeCipherSpec, ServerWaitFinished13,
            ServerWaitSecondClientHello,                          # TLS 1.3 HelloRetryRequest
            ServerWaitClientCertificate13,                        # TLS 1.3 CertificateRequest
            ServerWaitEndOfEarlyData,                             # TLS 1.3 0-RTT accepted
        ),
    },
    ServerWaitClientCertificate: {  # after a CertificateRequest; SSL 3.0 clients may skip it (no_certificate)
        H.CERTIFICATE: (ServerWaitClientKeyExchange,),
        H.CLIENT_KEY_EXCHANGE: (ServerWaitChangeCipherSpec,),
    },
    ServerWaitClientKeyExchange: {
        H.CLIENT_KEY_EXCHANGE: (ServerWaitChangeCipherSpec, ServerWaitCertificateVerify),
    },
    ServerWaitCertificateVerify: {H.CERTIFICATE_VERIFY: (ServerWaitChangeCipherSpec,)},  # §7.4.8
    ServerWaitChangeCipherSpec: {CCS: (ServerWaitFinished,)},
    ServerWaitFinished: {H.FINISHED: (ServerConnected,)},
    ServerConnected: {  # RFC 5746: a secure renegotiation, or no_renegotiation
        H.CLIENT_HELLO: (
            ServerConnected, ServerWaitClientKeyExchange, ServerWaitClientCertificate, ServerWaitChangeCipherSpec,
        ),
        REQUEST: (ServerConnected,),
    },
    # ---- TLS 1.3 server (RFC 9846 §2 Figure 1) ----
    ServerWaitSecondClientHello: {
        H.CLIENT_HELLO: (ServerWaitFinished13, ServerWaitClientCertificate13), CCS: (ServerWaitSecondClientHello,),
    },
    ServerWaitClientCertificate13: {  # after our CertificateRequest (RFC 9846 §4.3.2)
        H.CERTIFICATE: (ServerWaitFinished13, ServerWaitClientCertificateVerify13), CCS: (ServerWaitClientCertificate13,),
    },
    ServerWaitClientCertificateVerify13: {
        H.CERTIFICATE_VERIFY: (ServerWaitFinished13,), CCS: (ServerWaitClientCertificateVerify13,),
    },
    ServerWaitEndOfEarlyData: {  # 0-RTT data accepted (RFC 9846 §4.2.10, §4.5)
        H.END_OF_EARLY_DATA: (ServerWaitFinished13,), CCS: (ServerWaitEndOfEarlyData,),
    },
    ServerWaitFinished13: {H.FINISHED: (ServerConnected13,), CCS: (ServerWaitFinished13,)},
    ServerConnected13: {H.KEY_UPDATE: (ServerConnected13,)},
    # ---- TLS 1.3 post-handshake authentication (RFC 9846 §4.6.2), after request_client_certificate() ----
    ServerWaitPostHandshakeCertificate: {
        H.CERTIFICATE: (ServerWaitPostHandshakeCertificateVerify, ServerWaitPostHandshakeFinished),
    },
    ServerWaitPostHandshakeCertificateVerify: {H.CERTIFICATE_VERIFY: (ServerWaitPostHandshakeFinished,)},
    ServerWaitPostHandshakeFinished: {H.FINISHED: (ServerConnected13,)},
}
# fmt: on


def input_name(value: Input) -> str:
    """``ServerHello``-style name of an input, for error messages and diagrams."""
    if isinstance(value, str):
        return value
    return "".join(part.capitalize() for part in HandshakeType(value).name.split("_"))


def _name_of_type(msg_type: int) -> str:
    try:
        return input_name(HandshakeType(msg_type))
    except ValueError:
        return f"handshake type {msg_type}"


def check_input(state: type[State], received: int | str) -> None:
    """UnexpectedMessage unless ``state`` accepts ``received`` (RFC 5246 §7.3; alert unexpected_message),
    naming what the state expects from the peer and what arrived."""
    accepted: dict[Any, tuple[type[State], ...]] = TRANSITIONS[state]  # HandshakeType keys hash and compare as ints
    if received in accepted:
        return
    got = received if isinstance(received, str) else _name_of_type(received)
    expected = " or ".join(input_name(i) for i in accepted if i not in OWN_STEPS)
    raise UnexpectedMessage(f"{state.__name__}: expected {expected}, received {got}")


def check_next(state: type[State], received: int | str, next_state: type[State]) -> None:
    """Guard that a handler moved along a row of the table (a bug otherwise: internal_error)."""
    row: dict[Any, tuple[type[State], ...]] = TRANSITIONS[state]
    if next_state not in row.get(received, ()):
        raise InternalError(f"transition {state.__name__} --{received}--> {next_state.__name__} is not in the table")


__all__ = [
    "CCS", "OWN_STEPS", "REFUSED", "REQUEST", "START", "TRANSITIONS", "Input", "check_input", "check_next", "input_name",
]
