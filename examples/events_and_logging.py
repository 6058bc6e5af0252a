"""Your own event listeners and your own log format, instead of okxkc's defaults.

``attach_event_listeners=False`` turns off okxkc's default listeners (which log
lifecycle events through the ``okxkc`` logger); ``client.get_ws_client().on(name,
callback)`` registers yours. Plain callbacks run on okxkc's dispatcher thread,
never on its event loop, so a slow one cannot delay a reply.

okxkc logs under the ``okxkc`` logger hierarchy with the standard ``logging``
module and prints nothing on its own: here one handler, in one format, shows both
this bot's lines and okxkc's own warnings.

Runs against the simulator with no arguments: it places an order, has one refused,
loses the connection with an order in flight (okxkc finds that order over REST and
emits ``resolved``), reconnects and trades on.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from okxkc.errors import ExchangeError
from okxkc.okx import WebsocketAPIClient
from okxkc.testing.okx import OkxSimulator

log = logging.getLogger("mybot")


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s.%(msecs)03d %(levelname)-7s %(name)-16s %(message)s", "%H:%M:%S"
        )
    )
    for name in ("mybot", "okxkc"):  # okxkc: the engine's own warnings, same format
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def main() -> None:
    setup_logging()
    reconnected = threading.Event()

    def on_open(event: dict[str, Any]) -> None:
        log.info("socket %s open (account %s)", event["wsKey"], event["account"])

    def on_response(event: dict[str, Any]) -> None:
        log.info("reply to %s: code %s", event.get("op"), event.get("code"))

    def on_exception(event: dict[str, Any]) -> None:
        if event.get("isWSAPIResponse"):  # the exchange refused a request
            items = event.get("data") or [{}]
            log.warning("refused %s: sCode %s", event.get("op"), items[0].get("sCode"))
        else:  # a connection problem
            log.warning("connection trouble on %s: %s", event["wsKey"], event.get("error"))

    def on_reconnect(event: dict[str, Any]) -> None:
        log.warning("socket %s lost, reconnecting", event["wsKey"])

    def on_reconnected(event: dict[str, Any]) -> None:
        log.info("socket %s back, logged in again", event["wsKey"])
        reconnected.set()

    def on_resolved(event: dict[str, Any]) -> None:
        ids = ", ".join(str(a.get("clOrdId")) for a in event["request"]["args"])
        log.warning("%s: reply lost (%s), lookup says %s", ids, event["error"], event["outcome"])

    with OkxSimulator() as sim:
        client = WebsocketAPIClient(
            accounts=[
                {
                    "apiKey": "okxkc-test-key",
                    "apiSecret": "okxkc-test-secret",
                    "apiPass": "okxkc-test-pass",
                }
            ],
            base_ws_url=sim.ws_url,
            base_rest_url=sim.url,
            attach_event_listeners=False,  # no default listeners: ours only
            reconnect_timeout=0.1,  # reconnect quickly (the default starts at 0.5 s)
        )
        events = client.get_ws_client()
        (
            events.on("open", on_open)
            .on("response", on_response)
            .on("exception", on_exception)
            .on("reconnect", on_reconnect)
            .on("reconnected", on_reconnected)
            .on("resolved", on_resolved)
        )
        order = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", sz="0.01")
        with client:
            client.connect_ws_api(["private"])
            res = client.submit_new_order(**order, px="20000", clOrdId="ev1")
            log.info("placed ev1 as %s", res.data[0].ordId)

            try:
                client.cancel_order(instId="BTC-USDT", clOrdId="nosuchorder")
            except ExchangeError as exc:
                log.info("cancel refused as expected: %s", exc.code)

            # The simulator places the next order, then drops the socket before replying.
            # okxkc never re-sends: it looks the order up by clOrdId over REST instead.
            sim.faults.drop_after_execution(op="order")
            res = client.submit_new_order(**order, px="20001", clOrdId="ev2")
            log.info("ev2 placed as %s (found by %s)", res.data[0].ordId, res.resolved_by)
            if not reconnected.wait(10):
                raise SystemExit("no reconnect within 10 s")

            res = client.submit_new_order(**order, px="20002", clOrdId="ev3")
            log.info("placed ev3 as %s after the reconnect", res.data[0].ordId)
        events.flush()  # let queued callbacks run before the script ends
    print("done")


if __name__ == "__main__":
    main()
