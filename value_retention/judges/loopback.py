"""An OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

It speaks just enough of the API (``POST /v1/chat/completions``, OpenAI-shaped JSON with usage)
for the real client to talk to it over real HTTP, so retries, timeouts and concurrency are
exercised as they happen in production. What it answers is up to a *responder*: a function of the
request body and the request's sequence number that returns a :class:`Scripted` response.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    """One response: after ``delay_s``, HTTP ``status`` with ``content`` as the assistant's message
    (status 200; None sends a null content) or as the error message (any other status).

    ``body`` replaces the whole response body (a dict is sent as JSON, a string as it is), for the
    malformed replies real servers send now and then: no ``choices``, an error object with status
    200, a body cut short. ``echo_authorization`` appends the request's Authorization header to the
    content or error message, as a careless proxy's error page does.
    """

    content: str | None = "The submission meets the criterion.\nGRADE: C"
    status: int = 200
    delay_s: float = 0.0
    retry_after: str | None = None   # a Retry-After header (seconds), as rate limiters send
    body: dict[str, Any] | str | None = None
    echo_authorization: bool = False


Responder = Callable[[dict[str, Any], int], Scripted]


def always(content: str = Scripted.content, delay_s: float = 0.0) -> Responder:
    """A responder that answers every request the same way."""
    return lambda body, number: Scripted(content=content, delay_s=delay_s)


def completion_json(body: dict[str, Any], content: str | None) -> dict[str, Any]:
    """An OpenAI chat.completion object; token counts are whitespace word counts."""
    prompt_tokens = sum(len(str(message.get("content", "")).split()) for message in body.get("messages", []))
    completion_tokens = len((content or "").split())
    return {
        "id": f"chatcmpl-loopback-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "loopback"),
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) overflows when a client opens dozens of connections at once,
    # and the overflowing connections are reset: real servers accept far more.
    request_queue_size = 256


class LoopbackServer:
    """``with LoopbackServer(responder) as server:`` serves on ``server.base_url`` until the block ends.

    ``server.hits`` counts requests received; ``server.bodies`` and ``server.authorizations`` keep
    each request's JSON body and Authorization header, for assertions.
    """

    def __init__(self, responder: Responder | None = None, port: int = 0):
        self.responder = responder or always()
        self.hits = 0
        self.bodies: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", port), self._handler_class())  # port 0: any free one
        self._httpd.daemon_threads = True  # a handler still sleeping never blocks shutdown
        # A short poll interval makes shutdown quick (the default waits up to half a second).
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _record(self, body: dict[str, Any], authorization: str | None) -> int:
        with self._lock:
            self.hits += 1
            self.bodies.append(body)
            self.authorizations.append(authorization)
            return self.hits

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do
            # Headers and body go out in two writes; with Nagle's algorithm on, the body then
            # waits for the client's delayed ACK (about 40 ms a request on Linux).
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                authorization = self.headers.get("Authorization")
                number = server._record(body, authorization)
                scripted = server.responder(body, number)
                if scripted.delay_s:
                    time.sleep(scripted.delay_s)
                content = scripted.content
                if scripted.echo_authorization:
                    content = f"{content or ''} (request had Authorization: {authorization})"
                if scripted.body is not None:
                    self._send(scripted.status, scripted.body)
                elif scripted.status == 200:
                    self._send(200, completion_json(body, content))
                else:
                    self._send(scripted.status, {"error": {"message": content, "type": "loopback_error"}},
                               {"Retry-After": scripted.retry_after} if scripted.retry_after else {})

            def _send(self, status: int, payload: dict[str, Any] | str,
                      headers: dict[str, str] | None = None) -> None:
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests and benchmarks count requests instead

        return Handler
