"""A scripted OpenAI-compatible chat server on localhost, for testing the LLM answerer's
handling of good answers, hallucinated citations and endpoint faults."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    text: str = ""
    status: int = 200
    delay: float = 0.0  # seconds before the first byte
    garbage: bool = False  # a malformed body
    cut: bool = False  # close the stream after a few tokens


@dataclass
class ScriptedLLM:
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    url: str = ""

    def next(self) -> Reply:
        return self.replies.pop(0) if self.replies else Reply(text="The articles do not say [1].")


def _handler(script: ScriptedLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # noqa: ANN002 - keep test output clean
            pass

        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": [{"id": "scripted", "object": "model"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length) or b"{}")
            script.requests.append(request)
            reply = script.next()
            if reply.delay:
                time.sleep(reply.delay)
            if reply.status != 200:
                body = json.dumps({"error": {"message": f"scripted {reply.status}", "type": "server_error"}}).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if not request.get("stream"):
                body = b"{not json" if reply.garbage else json.dumps({
                    "id": "x", "object": "chat.completion", "created": 0, "model": "scripted",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": reply.text}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            if reply.garbage:
                self.wfile.write(b"data: {this is not json\n\n")
                self.wfile.flush()
                return
            words = reply.text.split(" ")
            for i, word in enumerate(words):
                if reply.cut and i == 3:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "scripted",
                         "choices": [{"index": 0, "delta": {"content": word + (" " if i < len(words) - 1 else "")},
                                      "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            done = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "scripted",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()

    return Handler


class ScriptedServer:
    def __init__(self) -> None:
        self.script = ScriptedLLM()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.script))
        self.httpd.daemon_threads = True
        self.script.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedLLM:
        self.thread.start()
        return self.script

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.httpd.shutdown()
        self.httpd.server_close()
