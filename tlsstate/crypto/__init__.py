"""The cryptographic layer: suites and key schedules, on top of pyca/cryptography primitives.

:mod:`~tlsstate.crypto.suites` (one table of cipher suites), :mod:`~tlsstate.crypto.prf` (SSL 3.0 / TLS PRFs,
master secret, EMS), :mod:`~tlsstate.crypto.schedule13` (TLS 1.3 HKDF schedule), :mod:`~tlsstate.crypto.keys`
(the six values cut from the key block), :mod:`~tlsstate.crypto.dh` (key exchange), :mod:`~tlsstate.crypto.signatures`,
:mod:`~tlsstate.crypto.certs` (X.509 loading, checking, the self-signed localhost identity).
"""
