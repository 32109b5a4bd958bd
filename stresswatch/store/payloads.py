"""The raw payload archive (table `raw_payloads`, migrations 0001, 0010 and 0012): every HTTP
response body, zlib-compressed, stored before it is parsed, with the request that produced it, so
`reparse` can rebuild observations offline.

The same source + body + request is stored once: `dedup_key` (migration 0012) is the SHA-256 of
the source, the body's sha256 and the archived request JSON (function `dedup_key`), unique in
the table. Since 0012 the request JSON is stored zlib-compressed, and `url` is NULL when it is
the archived request's own line (`Request.line`: method, URL, query string), which the reader
then rebuilds from the JSON; rows archived before keep both as text. `Payload.url` is the same
either way.

Secrets never reach the archive: secret query parameters and headers are masked in the request,
and every known secret value (`stresswatch.redaction`) is masked in the URL, the request and the
body itself (a server that echoes a key back). `meta` (JSON, migration 0010) records what is not
the body: the final URL and the redirect chain of a redirected answer, the dates the request asked
for (`span`), and for an answer over the size cap `truncated` with the limit and the bytes seen --
such an answer is archived without its body.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterator

from stresswatch.fetchers.base import Request
from stresswatch.redaction import SECRET_PARAMS, redact, redact_bytes
from stresswatch.store.database import Database, iso

#: headers never archived
_SECRET_HEADERS = ("authorization", "ocp-apim-subscription-key")


def request_to_json(request: Request) -> str:
    """The request as archived: JSON with secret query parameters REDACTED and secret headers dropped."""
    params = [(k, "REDACTED" if k.lower() in SECRET_PARAMS else v) for k, v in request.params]
    headers = [(k, v) for k, v in request.headers if k.lower() not in _SECRET_HEADERS]
    return redact(json.dumps({
        "method": request.method, "url": request.url, "params": params, "headers": headers,
        "body": request.body.decode("utf-8", "replace") if request.body else None,
        "label": request.label, "context": [[k, v] for k, v in request.context],
    }, sort_keys=True, default=str))


def _request_text(stored: str | bytes) -> str:
    """request_json as archived: zlib-compressed JSON (since migration 0012) or text (before)."""
    return stored if isinstance(stored, str) else zlib.decompress(stored).decode("utf-8")


def dedup_key(source: str, body_sha256: str, request_json: str) -> bytes:
    """What makes an archived answer unique: SHA-256 of source, body digest and request JSON, one
    line each (migration 0012 computes the same in SQL for the rows it carries over)."""
    return hashlib.sha256(f"{source}\n{body_sha256}\n{request_json}".encode("utf-8")).digest()


def request_from_json(text: str) -> Request:
    data = json.loads(text)
    return Request(
        method=data["method"], url=data["url"], params=tuple(tuple(p) for p in data["params"]),
        headers=tuple(tuple(h) for h in data["headers"]),
        body=data["body"].encode("utf-8") if data.get("body") is not None else None,
        label=data.get("label", ""), context=tuple(tuple(c) for c in data.get("context", [])),
    )


@dataclass(frozen=True)
class Payload:
    """One archived response (body decompressed)."""

    id: int
    source: str
    url: str
    request: Request
    status: int
    content_type: str
    sha256: str
    body: bytes
    fetched_at: dt.datetime
    parser_version: str
    job: str
    partition: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def truncated(self) -> bool:
        """True when the answer was over the size cap and archived without its body."""
        return bool(self.meta.get("truncated"))


class Payloads:
    """The archive of response bodies."""

    def __init__(self, db: Database):
        self._db = db

    def save(self, *, source: str, request: Request, status: int, content_type: str, body: bytes,
             fetched_at: dt.datetime, parser_version: str, job: str = "", partition: str = "",
             meta: dict[str, Any] | None = None) -> int:
        """Archive a response body (compressed, known secrets masked) before it is parsed; returns
        its id. An identical body for the same request is stored once. `meta`: see the module."""
        body = redact_bytes(body)
        digest = hashlib.sha256(body).hexdigest()
        request_json = request_to_json(request)
        meta_json = redact(json.dumps(meta, sort_keys=True, default=str)) if meta else None
        key = dedup_key(source, digest, request_json)
        url = redact(request.display())
        with self._db.transaction():
            row = self._db.query_one("SELECT id FROM raw_payloads WHERE dedup_key = ?", (key,))
            if row:
                return int(row["id"])
            cur = self._db.execute(
                """INSERT INTO raw_payloads (source, url, request_json, status, content_type, sha256, size, body,
                                             fetched_at, parser_version, job, partition, meta, dedup_key)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (source, None if url == request_from_json(request_json).line() else url,
                 zlib.compress(request_json.encode("utf-8"), 9),
                 status, redact(content_type or ""), digest, len(body), zlib.compress(body, 6), iso(fetched_at),
                 parser_version, job, partition, meta_json, key))
            return int(cur.lastrowid or 0)

    def iter(self, source: str | None = None) -> Iterator[Payload]:
        """Archived payloads (of one source, or all), in fetch order."""
        sql = "SELECT * FROM raw_payloads"
        args: list[Any] = []
        if source:
            sql += " WHERE source = ?"
            args.append(source)
        sql += " ORDER BY fetched_at, id"
        for r in self._db.query(sql, args):
            request = request_from_json(_request_text(r["request_json"]))
            yield Payload(
                id=r["id"], source=r["source"], url=r["url"] if r["url"] is not None else request.line(),
                request=request,
                status=r["status"], content_type=r["content_type"], sha256=r["sha256"],
                body=zlib.decompress(r["body"]),
                fetched_at=dt.datetime.fromisoformat(r["fetched_at"].rstrip("Z")).replace(tzinfo=dt.timezone.utc),
                parser_version=r["parser_version"], job=r["job"], partition=r["partition"],
                meta=json.loads(r["meta"]) if r["meta"] else {})

    def sources(self) -> list[str]:
        """The source ids that have archived payloads."""
        return [r[0] for r in self._db.query("SELECT DISTINCT source FROM raw_payloads")]
