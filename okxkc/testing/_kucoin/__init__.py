"""The simulated KuCoin's parts, one job per module (see ``okxkc.testing.kucoin``)."""
