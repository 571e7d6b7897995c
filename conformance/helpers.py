"""Shared by the conformance suites: the simulator's default test key, a signed pybit client, and polling."""
import time

from pybit.unified_trading import HTTP

KEY, SECRET = "cascade-test-key", "cascade-test-secret"


def client(secret=SECRET):
    """A signed pybit HTTP client that fails fast (one try, no retry codes) so tests see raw errors."""
    return HTTP(testnet=False, api_key=KEY, api_secret=secret, max_retries=1, retry_codes={-1})


def wait_for(predicate, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
