"""A simulated OKX v5 WebSocket trading server, for okxkc's tests and for users' bots.

One loopback port serves ``/ws/v5/public``, ``/ws/v5/private`` and ``/ws/v5/business``
(login, text ping/pong, idle close, the order-book ops ``order`` .. ``mass-cancel`` and
the spread ops ``sprd-*``), the few REST endpoints clients call first
(``/api/v5/public/instruments``, ``/api/v5/public/time``, ``/api/v5/asset/currencies``)
and the signed order lookups ``/api/v5/trade/order`` and ``/api/v5/sprd/order``.
It follows ``protocol/okx.md``; behaviour the protocol notes mark UNVERIFIED is
switchable in the constructor. Like the rest of ``okxkc.testing`` it never imports the
client: it signs, parses and frames on its own.

Modules, one job each: ``_wire`` (vocabulary, codes, envelopes), ``_checks`` (argument
checks), ``_book`` (order book), ``_auth`` (keys, login, signed REST), ``_trading``
(the ops), ``_rest`` (REST routes), ``_sockets`` (socket sessions), ``_simulator``
(options, lifecycle, helpers).
"""

from ._auth import OkxCredential
from ._simulator import OkxSimulator

__all__ = ["OkxCredential", "OkxSimulator"]
