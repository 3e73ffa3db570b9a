"""A stand-in Hugging Face Hub on 127.0.0.1, so Hub tests need no network.

It answers `HEAD`/`GET /{org}/{name}/resolve/{revision}/{filename}` the way
huggingface_hub 2.4 expects: `X-Repo-Commit` (else the client says the resource
"does not seem to be on huggingface.co"), `ETag` and `Content-Length` (else it
refuses to cache the file), and 404s carrying `X-Error-Code` (`RepoNotFound`,
`RevisionNotFound`, `EntryNotFound`), which `hf_raise_for_status` turns into
typed errors. Anything else (such as `GET /api/agent-harnesses`) gets a plain 404.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import unquote, urlsplit

__all__ = ["FakeHub", "commit_for"]

Repos = Mapping[str, Mapping[str, Mapping[str, bytes]]]  # {repo_id: {revision: {filename: bytes}}}

_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<filename>.+)$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def commit_for(repo_id: str, revision: str) -> str:
    """The fixed 40-hex commit a branch name stands for (a commit hash stands for itself)."""
    if _COMMIT.fullmatch(revision):
        return revision
    return hashlib.sha1(f"{repo_id}@{revision}".encode()).hexdigest()


class FakeHub:
    """Serves `repos` over HTTP in a daemon thread; use as a context manager.

    `endpoint` is the base URL to pass as `endpoint=`; `requests` lists every
    (method, path) received, so a test can assert an offline path made none. Set
    `outage` to an HTTP status (such as 503) to answer every request with it.
    """

    def __init__(self, repos: Repos) -> None:
        self.repos = repos
        self.outage: int | None = None
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Hub is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def commit(self, repo_id: str, revision: str = "main") -> str:
        return commit_for(repo_id, revision)

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:  # noqa: N802 (the stdlib's naming)
                hub._answer(self, send_body=False)

            def do_GET(self) -> None:  # noqa: N802
                hub._answer(self, send_body=True)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Silenced: the test output should show test results only."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut down and release the port; later requests get 'connection refused'."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _lookup(self, repo_id: str, revision: str) -> tuple[str, Mapping[str, bytes]] | None:
        """The (commit, files) a branch name or commit hash resolves to, or None."""
        for branch, files in self.repos[repo_id].items():
            commit = commit_for(repo_id, branch)
            if revision in (branch, commit):
                return commit, files
        return None

    def _answer(self, handler: BaseHTTPRequestHandler, *, send_body: bool) -> None:
        path = urlsplit(handler.path).path
        with self._lock:
            self.requests.append((handler.command, path))
        match = _RESOLVE.match(path)
        if self.outage is not None:
            return _send(handler, self.outage, {})
        if match is None:
            return _send(handler, 404, {})
        repo_id, revision, filename = (unquote(match[name]) for name in ("repo", "revision", "filename"))
        if repo_id not in self.repos:
            return _send(handler, 404, {"X-Error-Code": "RepoNotFound"})
        found = self._lookup(repo_id, revision)
        if found is None:
            return _send(handler, 404, {"X-Error-Code": "RevisionNotFound"})
        commit, files = found
        if filename not in files:
            # The commit header lets the client record the miss in `.no_exist/`.
            return _send(handler, 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit})
        content = files[filename]
        headers = {
            "X-Repo-Commit": commit,
            "ETag": f'"{hashlib.sha256(content).hexdigest()}"',
            "Content-Type": "application/octet-stream",
        }
        _send(handler, 200, headers, content, send_body=send_body)


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    headers: Mapping[str, str],
    body: bytes = b"",
    *,
    send_body: bool = True,
) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if send_body and body:
        handler.wfile.write(body)
