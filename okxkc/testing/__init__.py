"""Simulated OKX and KuCoin WebSocket trading servers, for okxkc's tests and for yours.

They run on loopback, check signatures against configured credentials, keep an
order book per account, enforce the exchanges' limits and error codes, and can
inject faults (drops, delays, swallowed replies, notices, garbage frames).
"""
