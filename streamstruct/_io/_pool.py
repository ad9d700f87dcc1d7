"""streamstruct's own httpcore connection pool: a workaround for httpcore 1.0.x, not library logic.

I/O layer. httpcore 1.0.x's ``AsyncConnectionPool._assign_requests_to_connections`` hands an idle
connection it gave to a queued request to other requests too, and closes it as surplus keep-alive,
until that request's task first sends on it (encode/httpcore#1110, "Connection pool can close a
connection it has already assigned to a queued request", open, fix proposed in
encode/httpcore#1111; the retries it causes are the loop of encode/httpcore#822); and the pass is
O(connections x idle) per request (encode/httpcore#1035, open). :class:`ConnectionPool` overrides
that one pass; :func:`use_own_pool` installs it in a client's default HTTP/1.1 transport.

When to remove this module: once a released httpcore keeps an assigned connection spoken for
(#1110 fixed) with a linear pass (#1035), and streamstruct requires that version: then delete
it and its call in ``_client.py``; ``tests/io/test_pool_queue.py`` and
``tests/io/test_connection_reuse.py`` must pass on httpcore's own pool. Until then it is used only
on the versions it was checked against (:data:`POOL_FITS`): from httpcore 1.1 on the client keeps
httpcore's pool whatever this module holds.
"""

from __future__ import annotations

import re
import time
from typing import Final

import httpcore
import httpx

__all__ = ["POOL_FITS", "ConnectionPool", "pool_fits", "use_own_pool"]

_EXPIRY_CHECK_SECONDS: Final = 1.0
"""How often the pool looks for expired idle connections (it always checks one before reuse)."""


class ConnectionPool(httpcore.AsyncConnectionPool):
    """httpcore's connection pool, with the pass that hands out connections made O(connections).

    httpcore 1.x runs ``_assign_requests_to_connections`` whenever a request starts or a response
    closes, and under many concurrent kept-alive streams that pass goes wrong three ways:

    * an idle connection it hands to a request stays idle until that request's task sends on it,
      two event-loop turns later; every pass in between hands it out again, and all but one of the
      requests that got it fail with ``ConnectionNotAvailable`` and start over (encode/httpcore#822,
      #1110): 2 to 6 times per request measured at 10 to 1,000 streams, each time another pass;
    * each pass probes the socket of every idle connection (a system call each), and for each idle
      connection lists all of them again: O(connections x idle) per pass, so CPU per request grew
      with the number of streams;
    * that list counts all connections against ``max_keepalive_connections``, busy ones included,
      so a connection released while more than that many were open was closed, not reused.

    (The openai SDK's streams avoid all three by accident: they close the response at ``[DONE]``,
    before its end, which throws the connection away, so their pool never holds an idle one. Ours
    read to the end to keep the connection - a TLS handshake saved per request.)

    Here a connection assigned to a request is spoken for until the request ends; idle connections
    are counted once per pass; and only idle connections are probed for expiry, at most once per
    :data:`_EXPIRY_CHECK_SECONDS`, and one is always probed before it is reused, as before. A pass
    is still linear in connections + requests. Everything else - connecting, the request queue,
    closing - is httpcore's. HTTP/1.1 only (:func:`use_own_pool` sees to it): an idle connection
    here is one that takes a single request, and a connection that is neither idle nor closed is
    serving the one request that holds it.
    """

    _next_expiry_check = 0.0

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        requests = self._requests
        # Spoken for: serving a request, or assigned to one that has not sent on it yet.
        taken = {request.connection for request in requests}
        now = time.monotonic()
        check_expiry = now >= self._next_expiry_check
        if check_expiry:
            self._next_expiry_check = now + _EXPIRY_CHECK_SECONDS
        closing: list[httpcore.AsyncConnectionInterface] = []
        kept: list[httpcore.AsyncConnectionInterface] = []
        idle: list[httpcore.AsyncConnectionInterface] = []
        for connection in self._connections:
            if connection.is_closed():
                # Nothing to close: forget it, even under a request. That request, if it ever
                # sends, gets ConnectionNotAvailable and starts over, as with httpcore's pool; one
                # that never ends (a plain asyncio cancel inside the response's aclose() leaves it
                # in _requests) must not pin a slot for ever.
                continue
            if connection in taken:
                kept.append(connection)
            elif not connection.is_idle():
                # Held by no request, yet busy: made for a request that was cancelled before it
                # used it (a plain asyncio cancel right after another task's pass handed it over;
                # encode/httpcore#1093). Nobody will ever connect it or hand it back.
                closing.append(connection)
            elif check_expiry and connection.has_expired():
                closing.append(connection)
            else:
                kept.append(connection)
                idle.append(connection)
        surplus = len(idle) - self._max_keepalive_connections
        if surplus > 0:
            closing += idle[:surplus]
            dropped = set(idle[:surplus])
            idle = idle[surplus:]
            kept = [connection for connection in kept if connection not in dropped]
        self._connections = kept

        for request in requests:
            if not request.is_queued():
                continue
            origin = request.request.url.origin
            chosen = self._reusable(origin, idle, closing)
            if chosen is None:
                if len(self._connections) >= self._max_connections:
                    if not idle:
                        continue  # stays queued until a connection is released
                    spare = idle.pop(0)  # make room: an idle connection to another origin
                    self._connections.remove(spare)
                    closing.append(spare)
                chosen = self.create_connection(origin)
                self._connections.append(chosen)
            request.assign_to_connection(chosen)
        return closing

    def _reusable(
        self,
        origin: httpcore.Origin,
        idle: list[httpcore.AsyncConnectionInterface],
        closing: list[httpcore.AsyncConnectionInterface],
    ) -> httpcore.AsyncConnectionInterface | None:
        """An idle connection to ``origin``, taken off ``idle``; expired ones met are closed."""
        index = 0
        while index < len(idle):
            connection = idle[index]
            if not (connection.can_handle_request(origin) and connection.is_available()):
                index += 1
                continue
            del idle[index]
            if not connection.has_expired():
                return connection
            # The server hung up, or it idled too long: close it, look further.
            self._connections.remove(connection)
            closing.append(connection)
        return None


def use_own_pool(http: httpx.AsyncClient) -> None:
    """Put a :class:`ConnectionPool` in place of httpcore's in ``http``'s default transport, where it fits.

    It fits the plain HTTP/1.1 pool of the httpcore versions ``ConnectionPool`` was checked against
    (:data:`POOL_FITS`), and takes over every setting httpx gave that pool. Anything else is left as
    httpx made it: HTTP/2 (whose connections take many requests each, which ``ConnectionPool``'s "spoken for"
    rule would stop), a proxy's pool, including those httpx mounts from the environment
    (``HTTPS_PROXY``, ...), or another httpcore.
    """
    transport = http._transport
    if not (POOL_FITS and isinstance(transport, httpx.AsyncHTTPTransport)):
        return
    stock = transport._pool
    if not (
        type(stock) is httpcore.AsyncConnectionPool
        and stock._http1
        and not stock._http2
        and getattr(stock, "_proxy", None) is None  # httpcore >= 1.0.6 has pools with a proxy
    ):
        return
    transport._pool = ConnectionPool(
        ssl_context=stock._ssl_context,
        max_connections=stock._max_connections,
        max_keepalive_connections=stock._max_keepalive_connections,
        keepalive_expiry=stock._keepalive_expiry,
        http1=stock._http1,
        http2=stock._http2,
        retries=stock._retries,
        local_address=stock._local_address,
        uds=stock._uds,
        network_backend=stock._network_backend,
        socket_options=stock._socket_options,
    )


_POOL_VERSIONS: Final = ((1, 0, 3), (1, 1, 0))
"""The httpcore versions ``ConnectionPool`` is known to fit, as [first, end): 1.0.0 to 1.0.2 lack
``AsyncPoolRequest``; 1.0.3 to 1.0.9 differ in typing and ``proxy=`` only."""


def pool_fits(version: str) -> bool:
    """Whether httpcore ``version``'s pool is one ``ConnectionPool`` was written against.

    ``ConnectionPool`` overrides a private method and reads private attributes, so it is used only where
    they are known to mean what it assumes; elsewhere the client keeps httpcore's own pool.
    """
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        return False
    first, end = _POOL_VERSIONS
    return first <= (int(match[1]), int(match[2]), int(match[3])) < end


POOL_FITS: Final = pool_fits(httpcore.__version__)
