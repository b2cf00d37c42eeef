"""A local Hugging Face Hub on loopback: the snapshot folder of :mod:`.snapshot`, served over HTTP.

``HF_ENDPOINT=http://127.0.0.1:PORT`` points ``huggingface_hub`` (and ``datasets``, which uses it)
here instead of huggingface.co, so ``snapshot_download`` and ``load_dataset`` run as they run on a
login node: they resolve a branch, tag or commit to a commit SHA through the API, list the tree,
and download files by commit. The routes are the ones those clients call (huggingface_hub 2.x):

==================================================  ====================================================
``GET /api/{type}s/{repo}/revision/{rev}``           repository info: the commit SHA and the file list
``GET /api/{type}s/{repo}/tree/{rev}[/{path}]``      a folder's entries (``recursive`` for all below it)
``POST /api/{type}s/{repo}/paths-info/{rev}``        entries for the ``paths`` asked for
``HEAD|GET [/datasets]/{repo}/resolve/{rev}/{file}``  a file, with ``X-Repo-Commit``, ``ETag`` and ranges
==================================================  ====================================================

Errors carry the Hub's ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``),
which the clients turn into their own exception types. Nothing is written to the snapshot.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

COMMIT = re.compile(r"^[0-9a-f]{40}$")
REPO_TYPES = ("model", "dataset")


def repo_folder(root: Path, repo_type: str, repo_id: str) -> Path:
    """Where a repository lives in the snapshot: the huggingface_hub cache's folder name."""
    return root / f"{repo_type}s--{repo_id.replace('/', '--')}"


class HubError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


class Repository:
    """One repository of the snapshot at one commit."""

    def __init__(self, root: Path, repo_type: str, repo_id: str, revision: str):
        folder = repo_folder(root, repo_type, repo_id)
        if not folder.is_dir():
            raise HubError(404, "RepoNotFound", f"Repository Not Found for url: {repo_type} {repo_id}")
        if COMMIT.match(revision):
            sha = revision
        else:
            ref = folder / "refs" / revision
            if not ref.is_file():
                raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            sha = ref.read_text().strip()
        self.files_root = folder / "snapshots" / sha
        if not self.files_root.is_dir():
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        self.repo_type, self.repo_id, self.sha = repo_type, repo_id, sha

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.files_root).as_posix() for p in self.files_root.rglob("*") if p.is_file())

    def entry(self, path: str) -> dict[str, Any] | None:
        target = self.files_root / path
        if not path or ".." in Path(path).parts or not target.exists():
            return None
        if target.is_dir():
            return {"type": "directory", "path": path, "oid": _oid(path.encode())}
        return {"type": "file", "path": path, "size": target.stat().st_size, "oid": _oid(target.read_bytes())}

    def tree(self, path: str, recursive: bool) -> list[dict[str, Any]]:
        base = self.files_root / path if path else self.files_root
        if not base.is_dir():
            raise HubError(404, "EntryNotFound", f"{path} does not exist in {self.repo_id}@{self.sha}")
        children = base.rglob("*") if recursive else base.iterdir()
        return [self.entry(p.relative_to(self.files_root).as_posix()) for p in sorted(children)]

    def info(self) -> dict[str, Any]:
        return {"id": self.repo_id, "_id": self.repo_id, "sha": self.sha, "private": False, "disabled": False,
                "gated": False, "downloads": 0, "likes": 0, "tags": [], "lastModified": "2026-01-01T00:00:00.000Z",
                "siblings": [{"rfilename": name} for name in self.files()]}


def _oid(data: bytes) -> str:
    """A git blob id, as the Hub reports for files (sha1 of 'blob <size>\\0' + content)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class LocalHub:
    """``with LocalHub(snapshot_dir) as hub:`` serves the snapshot on ``hub.endpoint`` until the
    block ends. ``hub.requests`` lists ``(method, path)`` of every request, for assertions."""

    def __init__(self, root: str | Path, port: int = 0):
        self.root = Path(root)
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LocalHub:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def route(self, method: str, raw_path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(raw_path)
        path, query = url.path, parse_qs(url.query)
        with self._lock:
            self.requests.append((method, path))
        if match := re.fullmatch(r"/api/(models|datasets)/([^/]+/[^/]+)/revision/([^/]+)", path):
            repo = Repository(self.root, match.group(1)[:-1], match.group(2), unquote(match.group(3)))
            return _json(repo.info())
        if match := re.fullmatch(r"/api/(models|datasets)/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?", path):
            repo = Repository(self.root, match.group(1)[:-1], match.group(2), unquote(match.group(3)))
            recursive = query.get("recursive", ["false"])[0].lower() == "true"
            return _json(repo.tree(unquote(match.group(4) or ""), recursive))
        if match := re.fullmatch(r"/api/(models|datasets)/([^/]+/[^/]+)/paths-info/([^/]+)", path):
            repo = Repository(self.root, match.group(1)[:-1], match.group(2), unquote(match.group(3)))
            paths = parse_qs(body.decode()).get("paths", [])
            return _json([entry for entry in map(repo.entry, paths) if entry is not None])
        if match := re.fullmatch(r"/(datasets/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path):
            repo_type = "dataset" if match.group(1) else "model"
            repo = Repository(self.root, repo_type, match.group(2), unquote(match.group(3)))
            name = unquote(match.group(4))
            entry = repo.entry(name)
            if entry is None or entry["type"] != "file":
                raise HubError(404, "EntryNotFound", f"{name} does not exist in {repo.repo_id}@{repo.sha}")
            return _file(repo.files_root / name, repo.sha, entry["oid"])
        raise HubError(404, "RepoNotFound", f"no route {method} {path}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def handle_method(self, method: str) -> None:
                length = int(self.headers.get("Content-Length", 0) or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    status, headers, data = hub.route(method, self.path, body)
                except HubError as error:
                    status, data = error.status, json.dumps({"error": str(error)}).encode()
                    headers = {"Content-Type": "application/json", "X-Error-Code": error.code,
                               "X-Error-Message": str(error)}
                data, status, headers = _ranged(self.headers.get("Range"), data, status, headers)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self.handle_method("GET")

            def do_HEAD(self) -> None:
                self.handle_method("HEAD")

            def do_POST(self) -> None:
                self.handle_method("POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # hub.requests keeps the requests

        return Handler


def _json(payload: Any) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def _file(path: Path, sha: str, oid: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/octet-stream", "X-Repo-Commit": sha, "ETag": f'"{oid}"',
               "Accept-Ranges": "bytes"}
    return 200, headers, path.read_bytes()


def _ranged(range_header: str | None, data: bytes, status: int, headers: dict[str, str]):
    """A ``Range: bytes=a-b`` request gets 206 and that slice (HfFileSystem reads files in ranges)."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", range_header or "")
    if status != 200 or not match or not data:
        return data, status, headers
    start = int(match.group(1)) if match.group(1) else max(0, len(data) - int(match.group(2)))
    end = int(match.group(2)) if match.group(1) and match.group(2) else len(data) - 1
    end = min(end, len(data) - 1)
    headers = {**headers, "Content-Range": f"bytes {start}-{end}/{len(data)}"}
    return data[start:end + 1], 206, headers


def main(argv: list[str] | None = None) -> None:
    """``python -m value_retention.rehearsal.hub SNAPSHOT [--port N]``: serve until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("snapshot")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    hub = LocalHub(args.snapshot, port=args.port)
    print(f"HF_ENDPOINT={hub.endpoint}", flush=True)
    try:
        hub.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
