"""Simulated OKX and KuCoin WebSocket trading servers, for okxkc's tests and for yours.

They run on loopback, check signatures against configured credentials, keep an
order book per account, enforce the exchanges' limits and error codes, and can
inject faults (drops before or after execution, delays, swallowed replies, notices,
garbage frames). The OKX simulator also serves the signed REST order lookups and,
with ``tls=True`` (the ``tls`` extra: trustme), ``wss://`` and ``https://``.

- :mod:`okxkc.testing.okx`: :class:`~okxkc.testing.okx.OkxSimulator`
- :mod:`okxkc.testing.kucoin`: :class:`~okxkc.testing.kucoin.KucoinSimulator`
- :mod:`okxkc.testing.pytest_plugin`: pytest fixtures (``okx_simulator``,
  ``okx_client``, ``async_okx_client`` and the KuCoin ones), registered with pytest
  when okxkc is installed.

Importing this package imports neither simulator (nor aiohttp): import the module
you need.
"""
