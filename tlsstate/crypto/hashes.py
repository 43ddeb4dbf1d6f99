"""The hash functions TLS names by string (suite PRF hashes, MAC hashes, signature hashes), in one table.

Names are the lowercase forms used throughout tlsstate (``sha256``, RFC 5246 §7.4.1.4.1 HashAlgorithm
names); pyca/cryptography supplies the algorithms.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import hashes

from tlsstate.wire.errors import ConfigurationError

#: hash name -> pyca algorithm class (instantiate for use)
HASH_ALGORITHMS: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


#: name as given -> pyca hash object, filled on first use. pyca's hash algorithm objects hold no state (the
#: digest state is in ``hashes.Hash``), so one instance per name serves every caller; a handshake asks dozens of times.
_INSTANCES: dict[str, hashes.HashAlgorithm] = {}


def hash_algorithm(hash_name: str) -> hashes.HashAlgorithm:
    """The pyca hash object for ``md5``, ``sha1``, ``sha224``, ``sha256``, ``sha384`` or ``sha512``
    (case and dashes ignored: ``SHA-256`` works too)."""
    algorithm = _INSTANCES.get(hash_name)
    if algorithm is not None:
        return algorithm
    try:
        algorithm = HASH_ALGORITHMS[hash_name.lower().replace("-", "")]()
    except KeyError:
        raise ConfigurationError(f"unsupported hash {hash_name!r} (use one of {', '.join(HASH_ALGORITHMS)})") from None
    if len(_INSTANCES) < 64:  # bounded: callers pass a handful of spellings
        _INSTANCES[hash_name] = algorithm
    return algorithm
