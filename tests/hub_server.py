"""A stand-in Hugging Face Hub on 127.0.0.1, so Hub tests need no network.

It answers `HEAD`/`GET /{org}/{name}/resolve/{revision}/{filename}` the way
huggingface_hub 2.4 expects: `X-Repo-Commit` (else the client says the resource
"does not seem to be on huggingface.co"), `ETag` and `Content-Length` (else it
refuses to cache the file), and 404s carrying `X-Error-Code` (`RepoNotFound`,
`RevisionNotFound`, `EntryNotFound`), which `hf_raise_for_status` turns into
typed errors. Anything else (such as `GET /api/agent-harnesses`) gets a plain 404.

For pushes it answers the calls `HfApi.create_repo`, `create_branch` and `upload_folder`
make: `POST /api/repos/create` (409 when the repository exists), `/api/validate-yaml`,
`/api/models/{repo}/preupload/{rev}`, `/api/models/{repo}/branch/{branch}` and the
NDJSON `/api/models/{repo}/commit/{rev}` (with `?create_pr=1`: a `refs/pr/N` branch).
Writes need `Authorization: Bearer {write_token}` (401 otherwise; 403 for orgs in
`denied`). Preupload answers "regular" for every file, so contents travel base64 inside
the commit: the LFS and Xet transfer protocols the real Hub uses for large files are
not emulated. A push moves the branch to a new commit; earlier commits stay resolvable.
"""

from __future__ import annotations

import base64
import hashlib
import json
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
_REPO_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/(?P<action>preupload|commit|branch)/(?P<revision>[^/]+)$")
_DISCUSSIONS = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/discussions(?:/(?P<num>\d+))?$")
WRITE_TOKEN = "hf_stand_in_write_token"


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
        self.repos = {repo: {branch: dict(files) for branch, files in branches.items()}
                      for repo, branches in repos.items()}
        self.outage: int | None = None
        self.requests: list[tuple[str, str]] = []
        self.write_token = WRITE_TOKEN
        self.denied: set[str] = set()  # organisations the token may not write to (403)
        self.private: set[str] = set()  # repositories created with private=True
        self.commits: list[dict] = []  # every pushed commit: repo, revision, summary, files, oid
        self.user_agents: list[str] = []
        self.titles: dict[tuple[str, int], str] = {}  # (repo, pull request number) -> title
        self._heads: dict[tuple[str, str], str] = {}  # (repo, branch) -> commit, once pushed to
        self._snapshots: dict[tuple[str, str], dict[str, bytes]] = {}  # (repo, commit) -> files, every pushed commit
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
        return self._heads.get((repo_id, revision)) or commit_for(repo_id, revision)

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:  # noqa: N802 (the stdlib's naming)
                hub._answer(self, send_body=False)

            def do_GET(self) -> None:  # noqa: N802
                hub._answer(self, send_body=True)

            def do_POST(self) -> None:  # noqa: N802
                hub._write(self)

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
            commit = self.commit(repo_id, branch)
            if revision in (branch, commit):
                return commit, files
        if (repo_id, revision) in self._snapshots:
            return revision, self._snapshots[(repo_id, revision)]
        return None

    def _write(self, handler: BaseHTTPRequestHandler) -> None:
        """The push API: create a repository or a branch, preupload, commit."""
        url = urlsplit(handler.path)
        with self._lock:
            self.requests.append((handler.command, url.path))
            self.user_agents.append(handler.headers.get("User-Agent", ""))
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if self.outage is not None:
            return _send(handler, self.outage, {})
        if url.path == "/api/validate-yaml":
            return _send_json(handler, 200, {"errors": [], "warnings": []})
        if handler.headers.get("Authorization") != f"Bearer {self.write_token}":
            return _send_json(handler, 401, {"error": "Invalid credentials in Authorization header"})
        if url.path == "/api/repos/create":
            payload = json.loads(body)
            repo_id = f"{payload.get('organization')}/{payload['name']}"
            if payload.get("organization") in self.denied:
                return _send_json(handler, 403, {"error": "You don't have the rights to create a model under "
                                                          "this namespace"})
            if repo_id in self.repos:
                return _send_json(handler, 409, {"error": "You already created this model repo",
                                                 "url": f"{self.endpoint}/{repo_id}"})
            with self._lock:
                self.repos[repo_id] = {"main": {}}
                if payload.get("visibility") == "private" or payload.get("private"):
                    self.private.add(repo_id)
            return _send_json(handler, 200, {"url": f"{self.endpoint}/{repo_id}", "name": repo_id})
        pull = _DISCUSSIONS.match(url.path)
        if pull is not None and pull["num"] is None and pull["repo"] in self.repos:
            with self._lock:  # a pull request: a refs/pr/N branch from main
                branches = self.repos[pull["repo"]]
                number = 1 + sum(branch.startswith("refs/pr/") for branch in branches)
                branches[f"refs/pr/{number}"] = dict(branches["main"])
                self.titles[(pull["repo"], number)] = json.loads(body).get("title", "")
            return _send_json(handler, 200, {"num": number})
        match = _REPO_API.match(url.path)
        if match is None:
            return _send(handler, 404, {})
        repo_id, action, revision = match["repo"], match["action"], unquote(match["revision"])
        if repo_id not in self.repos:
            return _send_json(handler, 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        if repo_id.split("/")[0] in self.denied:
            return _send_json(handler, 403, {"error": "You don't have the rights to write to this repo"})
        branches = self.repos[repo_id]
        if action == "branch":
            if revision in branches:
                return _send_json(handler, 409, {"error": "Reference already exists"})
            with self._lock:
                branches[revision] = dict(branches["main"])
            return _send_json(handler, 200, {})
        if revision not in branches:
            return _send_json(handler, 404, {"error": f"Invalid rev id: {revision}"},
                              {"X-Error-Code": "RevisionNotFound"})
        if action == "preupload":
            files = json.loads(body)["files"]
            return _send_json(handler, 200, {"files": [{"path": file["path"], "uploadMode": "regular",
                                                        "shouldIgnore": False, "oid": None} for file in files]})
        return self._commit(handler, repo_id, revision, body, create_pr="create_pr=1" in url.query)

    def _pull_request(self, repo_id: str, number: int) -> dict:
        """What `get_discussion_details` reads of a pull request."""
        return {"title": self.titles.get((repo_id, number), ""), "num": number, "author": {"name": "stand-in"},
                "createdAt": "2026-01-01T00:00:00.000Z", "status": "draft", "isPullRequest": True,
                "repo": {"name": repo_id, "type": "model"}, "events": [], "filesWithConflicts": [],
                "changes": {"base": "refs/heads/main"}}

    def _commit(self, handler: BaseHTTPRequestHandler, repo_id: str, revision: str, body: bytes, *,
                create_pr: bool) -> None:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        with self._lock:
            branches = self.repos[repo_id]
            files = dict(branches[revision])
            for line in lines:
                if line["key"] == "file":
                    files[line["value"]["path"]] = base64.b64decode(line["value"]["content"])
                elif line["key"] == "deletedFile":
                    files.pop(line["value"]["path"], None)
                elif line["key"] != "header":  # lfsFile, deletedFolder: never sent for a model folder
                    return _send_json(handler, 400, {"error": f"the stand-in Hub cannot {line['key']}"})
            target = revision
            if create_pr:
                number = 1 + sum(branch.startswith("refs/pr/") for branch in branches)
                target = f"refs/pr/{number}"
            oid = hashlib.sha1(f"{repo_id}@{target}#{len(self.commits)}".encode()).hexdigest()
            branches[target] = files
            self._heads[(repo_id, target)] = oid
            self._snapshots[(repo_id, oid)] = files
            self.commits.append({"repo": repo_id, "revision": target, "summary": header["summary"],
                                 "files": sorted(files), "oid": oid})
        pr_url = f"{self.endpoint}/{repo_id}/discussions/{target.rsplit('/', 1)[1]}" if create_pr else None
        _send_json(handler, 200, {"commitUrl": f"{self.endpoint}/{repo_id}/commit/{oid}", "commitOid": oid,
                                  "pullRequestUrl": pr_url})

    def _answer(self, handler: BaseHTTPRequestHandler, *, send_body: bool) -> None:
        path = urlsplit(handler.path).path
        with self._lock:
            self.requests.append((handler.command, path))
        match = _RESOLVE.match(path)
        if self.outage is not None:
            return _send(handler, self.outage, {})
        pull = _DISCUSSIONS.match(path)
        if pull is not None and pull["num"] and f"refs/pr/{pull['num']}" in self.repos.get(pull["repo"], {}):
            return _send_json(handler, 200, self._pull_request(pull["repo"], int(pull["num"])))
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


def _send_json(handler: BaseHTTPRequestHandler, status: int, payload: object,
               headers: Mapping[str, str] | None = None) -> None:
    _send(handler, status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload).encode())
