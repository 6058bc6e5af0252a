"""The simulated KuCoin order book: accounts, their open and recently closed orders
per market, and the deterministic fill model. Sockets and REST read the same book."""

from __future__ import annotations

import collections
import itertools
import os
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from .auth import KucoinCredential, b64_hmac
from .checks import args_obj, missing, one_id
from .wire import (
    MARKETS,
    MSG_DUPLICATE_CLIENT_OID,
    MSG_UNKNOWN_SYMBOL,
    ORDER_NOT_FOUND,
    PARAM_ERROR,
    ZERO,
    OpError,
    fmt,
)


@attrs.define(slots=True, eq=False)
class Order:
    """One order. ``args`` is the request as sent (not copied): views read its extras."""

    account: str
    market: str
    order_id: str
    seq: int
    client_oid: str
    symbol: str
    side: str
    type: str
    price: str | None
    size: str | None
    size_field: str
    funds: str | None
    tif: str
    created: int
    args: dict[str, Any]
    match_time: int = attrs.field(init=False)
    updated: int = attrs.field(init=False)
    deal: str = "0"
    canceled: str = "0"
    status: str = "open"

    def __attrs_post_init__(self) -> None:
        self.match_time = self.updated = self.created

    def remaining(self) -> Decimal:
        if self.status != "open" or self.size is None:
            return ZERO
        return Decimal(self.size) - Decimal(self.deal)

    def to_dict(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "clientOid": self.client_oid,
            "apiKey": self.account,
            "market": self.market,
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "price": self.price,
            self.size_field: self.size,
            "funds": self.funds,
            "timeInForce": self.tif,
            "status": self.status,
            "dealSize": self.deal,
            "remainSize": fmt(self.remaining()),
            "canceledSize": self.canceled,
            "orderTime": self.created,
            "matchTime": self.match_time,
        }


class Account:
    """One API key's orders: open ones by id and client id per market, closed ones kept
    (bounded: a benchmark may close millions) for look-ups."""

    __slots__ = ("by_client_oid", "closed", "cred", "open", "passphrase_sign", "secret")

    def __init__(self, cred: KucoinCredential, keep_closed: int) -> None:
        self.cred = cred
        self.secret = cred.api_secret.encode()
        self.passphrase_sign = b64_hmac(self.secret, cred.passphrase)
        self.open: dict[str, dict[str, Order]] = {m: {} for m in MARKETS}
        self.by_client_oid: dict[str, dict[str, Order]] = {m: {} for m in MARKETS}
        self.closed: collections.deque[Order] = collections.deque(maxlen=keep_closed)


class Book:
    """All accounts' orders, with the simulator's clock (``now``, ms)."""

    def __init__(
        self,
        credentials: Iterable[KucoinCredential],
        keep_closed: int,
        symbols: Mapping[str, Iterable[str]],
        now: Callable[[], int],
    ) -> None:
        self.accounts: dict[str, Account] = {
            c.api_key: Account(c, keep_closed) for c in credentials
        }
        # symbol -> the same string: lets stored orders share one string object per symbol.
        self.symbols: dict[str, dict[str, str]] = {
            m: {s: s for s in symbols.get(m, ())} for m in MARKETS
        }
        self.now = now
        # Spot and margin ids: 24 hex digits like KuCoin's, seconds at start + random
        # salt + counter. Futures ids: decimal digits like KuCoin's futures ids today,
        # start time in ms shifted past the counter's bits (unique per simulator).
        self._oid_prefix = f"{int(time.time()) & 0xFFFFFFFF:08x}{os.urandom(2).hex()}"
        self._futures_base = (int(time.time() * 1000) << 22) + (os.urandom(1)[0] << 14)
        self._seq = itertools.count(1)

    def hex_id(self, seq: int | None = None) -> str:
        """A fresh 24-hex-digit id (spot and margin orders, loans)."""
        return f"{self._oid_prefix}{next(self._seq) if seq is None else seq:012x}"

    def order_id(self, market: str, seq: int) -> str:
        if market == "futures":
            return str(self._futures_base + seq)
        return self.hex_id(seq)

    def find(
        self, order_id: str | None, client_oid: str | None, api_key: str | None
    ) -> Order | None:
        """Any market: an open order wins over closed ones."""
        accts = [a for a in self.accounts.values() if api_key is None or a.cred.api_key == api_key]
        for a in accts:
            for m in MARKETS:
                if order_id is not None:
                    o = a.open[m].get(order_id)
                else:
                    o = a.by_client_oid[m].get(client_oid or "")
                if o is not None:
                    return o
        for a in accts:
            for o in reversed(a.closed):
                if (order_id is not None and o.order_id == order_id) or (
                    order_id is None and client_oid and o.client_oid == client_oid
                ):
                    return o
        return None

    def lookup(
        self,
        acct: Account,
        market: str,
        *,
        order_id: str | None = None,
        client_oid: str | None = None,
    ) -> Order | None:
        """An order of one account and market, open or closed; an open one wins, then
        the newest closed one (a client id may be reused once its order is done)."""
        if order_id is not None:
            o = acct.open[market].get(order_id)
        else:
            o = acct.by_client_oid[market].get(client_oid or "")
        if o is not None:
            return o
        for o in reversed(acct.closed):
            if o.market != market:
                continue
            if (order_id is not None and o.order_id == order_id) or (
                order_id is None and o.client_oid == client_oid
            ):
                return o
        return None

    def new_order(
        self,
        acct: Account,
        market: str,
        client_oid: str,
        symbol: str,
        side: str,
        type_: str,
        price: str | None,
        size: str | None,
        size_field: str,
        funds: str | None,
        tif: str,
        rests: bool,
        args: dict[str, Any],
    ) -> Order:
        seq = next(self._seq)
        o = Order(
            acct.cred.api_key,
            market,
            self.order_id(market, seq),
            seq,
            client_oid,
            symbol,
            side,
            type_,
            price,
            size,
            size_field,
            funds,
            tif,
            self.now(),
            args,
        )
        if rests:
            acct.open[market][o.order_id] = o
            if client_oid:
                acct.by_client_oid[market][client_oid] = o
        else:
            # The deterministic fill model: market, IOC and FOK orders fill in full at once.
            o.deal = size if size is not None else "0"
            o.status = "done"
            acct.closed.append(o)
        return o

    def retire(self, acct: Account, o: Order, *, cancel: bool = False) -> None:
        if cancel:
            o.canceled = fmt(o.remaining())
        o.status = "done"
        o.updated = self.now()
        acct.open[o.market].pop(o.order_id, None)
        if o.client_oid and acct.by_client_oid[o.market].get(o.client_oid) is o:
            del acct.by_client_oid[o.market][o.client_oid]
        acct.closed.append(o)

    def fill(self, order_id: str, size: str | Decimal | None) -> Order:
        o = self.find(order_id, None, None)
        if o is None or o.status != "open":
            raise KeyError(f"no open order {order_id!r}")
        left = o.remaining()
        qty = left if size is None else Decimal(str(size))
        if qty <= 0 or qty > left:
            raise ValueError(f"fill size must be in (0, {left}]")
        o.deal = fmt(Decimal(o.deal) + qty)
        o.match_time = o.updated = self.now()
        if qty == left:
            self.retire(self.accounts[o.account], o)
        return o

    def symbol(self, args: dict[str, Any], market: str) -> str:
        s = args.get("symbol")
        if s is None or s == "":
            raise missing("symbol")
        canon = self.symbols[market].get(s) if isinstance(s, str) else None
        if canon is None:
            raise OpError(PARAM_ERROR, MSG_UNKNOWN_SYMBOL.format(symbol=s))
        return canon

    def check_dup(self, acct: Account, market: str, client_oid: str) -> None:
        if client_oid and client_oid in acct.by_client_oid[market]:
            raise OpError(PARAM_ERROR, MSG_DUPLICATE_CLIENT_OID)

    def target(
        self, acct: Account, args: Any, market: str, *, need_symbol: bool = True
    ) -> tuple[Order, str | None, str | None]:
        """The open order a cancel or amend names: (order, orderId given, clientOid given)."""
        args = args_obj(args)
        oid, coid = one_id(args)
        symbol = self.symbol(args, market) if need_symbol or coid is not None else None
        o = (
            acct.open[market].get(oid)
            if oid is not None
            else acct.by_client_oid[market].get(coid or "")
        )
        if o is None or (symbol is not None and o.symbol != symbol):
            raise OpError(*ORDER_NOT_FOUND)
        return o, oid, coid
