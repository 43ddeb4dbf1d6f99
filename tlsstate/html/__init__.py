"""One self-contained HTML page per connection state: the derivation tree and the record timeline.

Layer 8 (beside :mod:`tlsstate.bench`): :mod:`.model` is the page's data, :mod:`.live` builds it for a live
connection (``connect``, ``demo``), :mod:`.capture` for a decrypted capture (``decrypt``), :mod:`.formulas` holds the
formula texts with their RFC sections and :mod:`.render` writes the page with Jinja2 (autoescaping on) from
``templates/``.
"""
