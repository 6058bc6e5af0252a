"""The exchange-agnostic engine: loop thread, connections, correlator, events."""
