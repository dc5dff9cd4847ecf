"""Calls from one node to another over the LiveStore bus (requests and replies on per-node channels).

A browser VM runs on the node that started it; a REST call or a socket event that needs it may arrive on
any node. `NodeRpc.call(node, method, args)` publishes on that node's channel and waits for the reply on
its own; handlers are registered by name. With the memory LiveStore (one process) calls stay in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from portal.live.base import LiveStore, Subscription

log = logging.getLogger("portal.rpc")
Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class RpcError(Exception):
    """The remote handler failed, or nobody answered in time."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _channel(node_id: str) -> str:
    return f"rpc:{node_id}"


class NodeRpc:
    def __init__(self, live: LiveStore, node_id: str) -> None:
        self.live = live
        self.node_id = node_id
        self.handlers: dict[str, Handler] = {}
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._subscription: Subscription | None = None
        self._running: set[asyncio.Task[None]] = set()

    def register(self, method: str, handler: Handler) -> None:
        self.handlers[method] = handler

    async def start(self) -> None:
        with contextlib.suppress(Exception):  # without the LiveStore, only local calls work
            self._subscription = await self.live.subscribe(_channel(self.node_id), self._on_message)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None
        for task in list(self._running):
            task.cancel()

    async def call(self, node_id: str, method: str, args: dict[str, Any], *, timeout: float = 15.0) -> Any:
        if node_id == self.node_id:
            return await self.handlers[method](args)
        call_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        try:
            await self.live.publish(
                _channel(node_id),
                {"kind": "call", "id": call_id, "reply_to": self.node_id, "method": method, "args": args},
            )
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise RpcError(f"node {node_id} did not answer {method}") from None
        finally:
            self._pending.pop(call_id, None)
        if "error" in reply:
            raise RpcError(reply["error"], code=reply.get("code"), status=reply.get("status"))
        return reply.get("result")

    async def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("kind") == "reply":
            future = self._pending.get(str(message.get("id")))
            if future is not None and not future.done():
                future.set_result(message)
            return
        if message.get("kind") == "call":
            # Each call runs in its own task: the channel also carries the replies to this node's own
            # calls, which must not wait behind a slow handler (or deadlock on a call made from one).
            task = asyncio.create_task(self._answer(message), name=f"rpc:{message.get('method')}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _answer(self, message: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"kind": "reply", "id": message.get("id")}
        handler = self.handlers.get(str(message.get("method")))
        try:
            if handler is None:
                raise RpcError(f"unknown method {message.get('method')}")
            reply["result"] = await handler(dict(message.get("args") or {}))
        except Exception as exc:
            reply.update(
                error=str(getattr(exc, "message", exc)),
                code=getattr(exc, "code", None),
                status=getattr(exc, "status", None),
            )
        await self.live.publish(_channel(str(message.get("reply_to"))), reply)
