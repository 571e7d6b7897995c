"""Point pybit (Bybit's own SDK) at a local Cascade simulator (reference §7.2).

pybit has no base-URL parameter: its module constants are replaced before any client is built.
"""
import pybit._http_manager as _hm
import pybit._websocket_trading as _wst
import pybit.unified_trading as _ut


def point_pybit_at(host: str, port: int) -> None:
    """Every pybit client created after this call talks to http://host:port and ws://host:port."""
    _hm.HTTP_URL = f"http://{host}:{port}"
    _ut.PUBLIC_WSS = f"ws://{host}:{port}/v5/public/{{CHANNEL_TYPE}}"
    _ut.PRIVATE_WSS = f"ws://{host}:{port}/v5/private"
    _wst.TRADE_WSS = f"ws://{host}:{port}/v5/trade"
