"""``client.chat.completions``: the three calls, and the plan of each (body, reader, limits).

I/O layer, split out of :mod:`._client` (issue 13). ``create_partial``, ``create_iterable`` and
``create`` check their arguments when the call is made, plan the request (the mode's
:class:`~streamstruct._request._modes.RequestPlan`, the dialect's body and headers, the re-asks)
and hand a stream object (:mod:`._stream`) what it needs to open the response and read it; the
sending, the retries and the error mapping are the client's (:class:`~._client.AsyncClient`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, final, overload

import httpx
from pydantic import BaseModel
from typing_extensions import Unpack

from .._core._redact import Redactor
from .._errors import InvalidArgumentTypeError
from .._request._arguments import check_call, check_headers, check_stream_flag, check_stream_keyword
from .._request._dialects import check_dialect_keywords, dialect_request
from .._request._modes import (
    Mode,
    ModeName,
    RequestPlan,
    is_iterable_annotation,
    partial_origin,
    plan_request,
    response_spec,
)
from .._request._options import CallOptions, SplitOptions, split_options
from .._response._partial_reader import PartialReader
from .._response._reader import IterableReader, ResponseReader
from ._reasking import Reasks
from ._sending import request_body, timeout_of
from ._stream import AsyncIterableStream, AsyncPartialStream, InBandRetry

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["AsyncChat", "AsyncCompletions"]

_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")


@final
class AsyncChat:
    """``client.chat``."""

    def __init__(self, client: AsyncClient) -> None:
        self.completions = AsyncCompletions(client)


@final
class AsyncCompletions:
    """``client.chat.completions``: ``create``, ``create_partial`` and ``create_iterable``.

    Besides ``model``, ``response_model`` and ``messages`` each takes the keywords of
    :class:`~streamstruct._request._options.CallOptions`; any other is refused (``extra_body=`` for the rest).
    """

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    @overload
    def create_partial(
        self,
        *,
        model: str,
        response_model: type[_T],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> AsyncPartialStream[_T]: ...

    @overload
    def create_partial(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> AsyncPartialStream[Any]: ...

    def create_partial(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> AsyncPartialStream[Any]:
        """Stream one ``response_model`` object: iterate for ``Partial[M]`` snapshots.

        ``response_model`` is a model class, or any other type pydantic validates (``list[User]``,
        ``int``, ``Literal[...]``, ``Cat | Dog``, a ``TypedDict``, ...): requested as the object
        ``{"response": ...}`` and unwrapped, so a snapshot of ``list[User]`` is a list of partial
        users and one of ``str`` the text so far (see docs/response-types.md).

        Nothing is sent until the stream is awaited, entered or iterated. The OpenAI request
        parameters (``temperature``, ``max_tokens``, ``seed``, ...) go into the request body.
        """
        call = self._check("create_partial", model, messages, options)
        check_stream_keyword("create_partial", {"stream": stream})
        target = partial_origin(response_model)
        plan = plan_request(target, messages, mode=self._mode(call), strict=call.own.get("strict"))
        if plan.spec.iterable:
            raise InvalidArgumentTypeError(
                "create_partial takes a model as response_model; use create_iterable for "
                "Iterable[...]",
                argument="response_model",
            )
        return AsyncPartialStream(*self._stream_parts(model, plan, "partial", call))

    @overload
    def create_iterable(
        self,
        *,
        model: str,
        response_model: type[_T],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> AsyncIterableStream[_T]: ...

    @overload
    def create_iterable(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> AsyncIterableStream[Any]: ...

    def create_iterable(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> AsyncIterableStream[Any]:
        """Stream many objects: each item is yielded, validated, the moment it closes.

        ``response_model`` is the item model (``User``), a union of models (``Cat | Dog``,
        discriminated or not), or ``Iterable[...]`` of either.
        """
        call = self._check("create_iterable", model, messages, options)
        check_stream_keyword("create_iterable", {"stream": stream})
        spec_input = response_model
        if not is_iterable_annotation(response_model):
            spec_input = Iterable[response_model]
        plan = plan_request(
            spec_input, messages, mode=self._mode(call), strict=call.own.get("strict")
        )
        return AsyncIterableStream(*self._stream_parts(model, plan, "iterable", call))

    @overload
    def create(
        self,
        *,
        model: str,
        response_model: type[_M],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[False] = False,
        **options: Unpack[CallOptions],
    ) -> Awaitable[_M]: ...

    @overload
    def create(
        self,
        *,
        model: str,
        response_model: type[_M],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True],
        **options: Unpack[CallOptions],
    ) -> AsyncPartialStream[_M]: ...

    @overload
    def create(
        self,
        *,
        model: str,
        response_model: type[_T],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[False] = False,
        **options: Unpack[CallOptions],
    ) -> Awaitable[_T]: ...

    @overload
    def create(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: bool = False,
        **options: Unpack[CallOptions],
    ) -> Any: ...

    def create(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: bool = False,
        **options: Unpack[CallOptions],
    ) -> Any:
        """The validated ``response_model`` (``await`` it); with ``stream=True`` a stream.

        With ``stream=True``, ``response_model=User`` or ``Partial[User]`` gives the stream of
        :meth:`create_partial`, ``Iterable[User]`` that of :meth:`create_iterable`. Without it,
        ``Iterable[User]`` gives the list of items.
        """
        check_stream_flag(stream)
        self._check("create", model, messages, options)
        # Checked now, not when the coroutine of a whole answer is awaited.
        iterable = response_spec(partial_origin(response_model)).iterable
        # Made now (nothing is sent until it is used), so that whatever making it refuses is
        # raised when the call is made, not when the coroutine of a whole answer is awaited.
        made: AsyncPartialStream[Any] | AsyncIterableStream[Any]
        if iterable:
            made = self.create_iterable(
                model=model, response_model=response_model, messages=messages, **options
            )
        else:
            made = self.create_partial(
                model=model, response_model=response_model, messages=messages, **options
            )
        return made if stream else _read_whole(made)

    def _check(
        self, method: str, model: object, messages: object, options: Mapping[str, Any]
    ) -> SplitOptions:
        """The call's keywords and values, checked when it is made (not when the stream opens)."""
        self._client._check_open()
        call = split_options(method, options)
        own = call.own
        check_call(
            model=model,
            messages=messages,
            mode=own.get("mode"),
            strict=own.get("strict"),
            max_retries=own.get("max_retries"),
            timeout=own.get("timeout"),
            deadline=own.get("deadline"),
            max_reasks=own.get("max_reasks"),
        )
        check_headers(call.headers, argument="extra_headers")
        # The typed request parameters (not extra_body's, which takes anything): the dialect's own.
        typed = [name for name in options if name not in call.own and not name.startswith("extra_")]
        check_dialect_keywords(self._client.api, typed)
        return call

    def _mode(self, call: SplitOptions) -> Mode | ModeName:
        mode: Mode | ModeName | None = call.own.get("mode")
        return mode or self._client.mode

    def _stream_parts(
        self, model: str, plan: RequestPlan, kind: str, call: SplitOptions
    ) -> tuple[Any, Any, float | None, Redactor | None, Reasks, InBandRetry | None]:
        client = self._client
        speaks = client._dialect
        headers: Mapping[str, str] | None = call.headers
        if speaks.api == "chat":
            body = request_body(model, plan, call.body)
        else:
            body, own_headers = dialect_request(
                speaks.api, plan, model=model, params=call.body, api_key=None
            )
            # The dialect's headers (anthropic-version) under the call's own.
            headers = {**own_headers, **(call.headers or {})}
        # The request of each attempt (a re-ask grows its conversation, in the dialect's own
        # shapes); refused now if JSON cannot carry it.
        reasks = Reasks(body, plan, call.own.get("max_reasks") or 0, api=speaks.api)
        timeout = call.own.get("timeout")
        resolved_timeout = timeout_of(timeout) if timeout is not None else client.timeout
        max_retries = call.own.get("max_retries")
        retries = client.max_retries if max_retries is None else max_retries
        validation_context = call.own.get("validation_context")

        async def open_response() -> httpx.Response:
            return await client._send(
                reasks.content, timeout=resolved_timeout, max_retries=retries, headers=headers
            )

        def make_reader(response: httpx.Response | None) -> ResponseReader:
            reader = PartialReader if kind == "partial" else IterableReader
            return reader(
                plan,
                validation_context=validation_context,
                max_response_bytes=client.max_response_bytes,
                max_depth=client.max_depth,
                max_string_chars=client.max_string_chars,
                request_id=(
                    response.headers.get(speaks.request_id_header) if response is not None else None
                ),
                redactor=client._redactor,
                decoder=speaks.new_decoder(),
                refusal_reasons=speaks.refusal_reasons,
            )

        per_call = call.own.get("deadline")  # checked with the call's other keywords (_check)
        deadline = client.deadline if per_call is None else per_call
        in_band = None if speaks.api == "chat" else client._in_band_retry(retries)
        return open_response, make_reader, deadline, client._redactor, reasks, in_band


async def _read_whole(stream: AsyncPartialStream[Any] | AsyncIterableStream[Any]) -> Any:
    # One implementation: the answer is streamed and read to its end. Streaming makes ``timeout``
    # bound the gap between two reads rather than the whole generation (a long answer would
    # otherwise time out, and be retried and paid for again), validates fields as they arrive,
    # and gives errors the partial result. A server that ignores ``"stream": true`` and answers
    # with a whole completion is read just as well.
    async with stream:
        return await stream.get_final()
