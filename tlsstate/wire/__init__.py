"""The wire layer: what TLS bytes mean, with no cryptography.

:mod:`~tlsstate.wire.constants` (IANA registries as IntEnums), :mod:`~tlsstate.wire.errors` (every error
class, each carrying its alert), :mod:`~tlsstate.wire.codec` (length-prefixed reading/writing),
:mod:`~tlsstate.wire.messages` (one dataclass per handshake message), :mod:`~tlsstate.wire.extensions`
(hello extension bodies), :mod:`~tlsstate.wire.keylog` (the NSS key log file format).
"""
