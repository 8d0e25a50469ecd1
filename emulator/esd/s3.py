"""A small S3 stand-in: objects, multipart uploads and presigned URLs served by the emulator itself.

Object metadata lives in the store (kind ``blob``, id ``<bucket>/<key>``; kind ``upload`` for
multipart uploads), so the admin surface shows what exists and what leaked. The bytes live in
content-addressed files next to the SQLite file, so they survive a restart without bloating the
documents. A file lives exactly as long as some object or uploaded part refers to it: every
operation that drops a reference (delete, overwrite, completion) sweeps the files nothing refers
to any more, under the store's lock so a concurrent write of the same bytes cannot lose them.

Presigned URLs look like S3's (``X-Amz-Algorithm``, ``X-Amz-Date``, ``X-Amz-Expires``,
``X-Amz-Signature``) and point at ``<base>/esd/_s3/<bucket>/<key>``; the signature is an HMAC over
method, bucket, key, upload id, part number, date and expiry, checked on use.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import struct
import tempfile
import time
import uuid
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from emulator.core.store import Store
from emulator.esd.errors import S3Error

PLATFORM = "esd"
_SECRET = b"esd-emulator-presign-secret"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    rest = uri.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    return bucket, key


class S3:
    def __init__(self, store: Store) -> None:
        self.store = store
        if store.path in ("", ":memory:"):
            self.dir = Path(tempfile.mkdtemp(prefix="esd-blobs-"))
        else:
            self.dir = Path(str(store.path) + ".esd-blobs")
        self.dir.mkdir(parents=True, exist_ok=True)

    # -- bytes ----------------------------------------------------------------------------------------
    def _write_bytes(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.dir / digest[:2] / digest
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return digest

    def _read_bytes(self, digest: str) -> bytes:
        return (self.dir / digest[:2] / digest).read_bytes()

    def _referenced(self) -> set[str]:
        refs = {b["sha256"] for b in self.store.list(PLATFORM, "blob") if b.get("sha256")}
        for up in self.store.list(PLATFORM, "upload"):
            refs.update(p["sha256"] for p in up.get("parts", {}).values() if p.get("sha256"))
        return refs

    def sweep(self) -> int:
        """Delete the byte files no object or part refers to; returns how many were removed."""
        removed = 0
        with self.store.transaction():
            refs = self._referenced()
            for path in self.dir.glob("*/*"):
                if path.is_file() and path.name not in refs:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def wipe(self) -> None:
        """Drops every stored byte (used after a reset, when no metadata refers to them any more)."""
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)

    # -- objects --------------------------------------------------------------------------------------
    def put_object(self, bucket: str, key: str, data: bytes, content_type: str = "binary/octet-stream") -> str:
        etag = '"' + hashlib.md5(data).hexdigest() + '"'
        with self.store.transaction():
            old = self.head_object(bucket, key)
            self.store.put(PLATFORM, "blob", f"{bucket}/{key}", {
                "bucket": bucket, "key": key, "size": len(data), "etag": etag,
                "sha256": self._write_bytes(data), "content_type": content_type,
                "last_modified": time.time(),
            })
            if old is not None and old.get("sha256") != hashlib.sha256(data).hexdigest():
                self.sweep()
        return etag

    def head_object(self, bucket: str, key: str) -> dict[str, Any] | None:
        return self.store.get(PLATFORM, "blob", f"{bucket}/{key}")

    def get_object(self, bucket: str, key: str) -> tuple[dict[str, Any], bytes]:
        meta = self.head_object(bucket, key)
        if meta is None:
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.", "GetObject")
        return meta, self._read_bytes(meta["sha256"])

    def delete_object(self, bucket: str, key: str) -> None:
        with self.store.transaction():
            if self.store.delete(PLATFORM, "blob", f"{bucket}/{key}"):
                self.sweep()

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        return [b["key"] for b in self.store.list(PLATFORM, "blob")
                if b["bucket"] == bucket and b["key"].startswith(prefix)]

    def delete_prefix(self, bucket: str, prefix: str) -> None:
        with self.store.transaction():
            for key in self.list_keys(bucket, prefix):
                self.store.delete(PLATFORM, "blob", f"{bucket}/{key}")
            for up in self.store.list(PLATFORM, "upload"):
                if up["bucket"] == bucket and up["key"].startswith(prefix):
                    self.store.delete(PLATFORM, "upload", up["upload_id"])
            self.sweep()

    def copy_object(self, bucket: str, src: str, dst: str) -> None:
        meta = self.head_object(bucket, src)
        if meta is None:
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.", "CopyObject")
        self.store.put(PLATFORM, "blob", f"{bucket}/{dst}", {**meta, "key": dst, "last_modified": time.time()})

    # -- multipart uploads ----------------------------------------------------------------------------
    def create_multipart_upload(self, bucket: str, key: str) -> str:
        upload_id = uuid.uuid4().hex + uuid.uuid4().hex
        self.store.put(PLATFORM, "upload", upload_id, {
            "upload_id": upload_id, "bucket": bucket, "key": key, "parts": {}, "completed": False,
            "initiated": time.time(),
        })
        return upload_id

    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int, data: bytes) -> str:
        with self.store.transaction():
            up = self.store.get(PLATFORM, "upload", upload_id)
            if up is None or up["bucket"] != bucket or up["key"] != key or up["completed"]:
                raise S3Error(404, "NoSuchUpload",
                              "The specified upload does not exist. The upload ID may be invalid, "
                              "or the upload may have been aborted or completed.", "UploadPart")
            etag = '"' + hashlib.md5(data).hexdigest() + '"'
            replaced = str(part_number) in up["parts"]
            up["parts"][str(part_number)] = {"etag": etag, "size": len(data), "sha256": self._write_bytes(data)}
            self.store.put(PLATFORM, "upload", upload_id, up)
            if replaced:
                self.sweep()
        return etag

    def complete_multipart_upload(self, bucket: str, key: str, upload_id: str,
                                  parts: list[dict[str, Any]], min_part_bytes: int = 0) -> None:
        op = "CompleteMultipartUpload"
        up = self.store.get(PLATFORM, "upload", upload_id)
        if up is None or up["bucket"] != bucket or up["key"] != key:
            raise S3Error(404, "NoSuchUpload",
                          "The specified upload does not exist. The upload ID may be invalid, "
                          "or the upload may have been aborted or completed.", op)
        if not parts:
            raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                          "against our published schema", op)
        numbers = [p.get("PartNumber") for p in parts]
        if not all(isinstance(n, int) for n in numbers) or numbers != sorted(numbers):
            raise S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order. "
                          "Parts must be ordered by part number.", op)
        chosen = []
        for p in parts:
            stored = up["parts"].get(str(p.get("PartNumber")))
            if stored is None or stored["etag"].strip('"') != str(p.get("ETag", "")).strip('"'):
                raise S3Error(400, "InvalidPart", "One or more of the specified parts could not be found.  "
                              "The part may not have been uploaded, or the specified entity tag may not "
                              "match the part's entity tag.", op)
            chosen.append(stored)
        for stored in chosen[:-1]:
            if stored["size"] < min_part_bytes:
                raise S3Error(400, "EntityTooSmall",
                              "Your proposed upload is smaller than the minimum allowed object size.", op)
        if up["completed"]:
            # A repeated completion naming the same parts is answered like the first one (a client
            # retrying after a lost reply); the parts' ETags and sizes are kept for this check.
            return
        with self.store.transaction():
            data = b"".join(self._read_bytes(s["sha256"]) for s in chosen)
            self.put_object(bucket, key, data)
            up["completed"] = True
            # Parts not named in the completion are discarded (as S3 does); the named ones keep
            # their ETag and size but no longer hold bytes: the object has them now.
            up["parts"] = {str(p["PartNumber"]): {"etag": s["etag"], "size": s["size"]}
                           for p, s in zip(parts, chosen)}
            self.store.put(PLATFORM, "upload", upload_id, up)
            self.sweep()

    # -- presigned URLs -------------------------------------------------------------------------------
    @staticmethod
    def _signature(method: str, bucket: str, key: str, upload_id: str, part: str, date: str, expires: str) -> str:
        msg = "\n".join([method.upper(), bucket, key, upload_id, part, date, expires]).encode()
        return hmac.new(_SECRET, msg, hashlib.sha256).hexdigest()

    def presign(self, base_url: str, method: str, bucket: str, key: str, expires: int,
                upload_id: str = "", part_number: int | None = None) -> str:
        date = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        part = str(part_number) if part_number is not None else ""
        q: dict[str, str] = {}
        if upload_id:
            q["partNumber"] = part
            q["uploadId"] = upload_id
        q.update({
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"ASIAEMULATOR/{date[:8]}/us-east-1/s3/aws4_request",
            "X-Amz-Date": date,
            "X-Amz-Expires": str(expires),
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": self._signature(method, bucket, key, upload_id, part, date, str(expires)),
        })
        return f"{base_url.rstrip('/')}/esd/_s3/{bucket}/{quote(key, safe='/')}?{urlencode(q)}"

    def check_presigned(self, method: str, bucket: str, key: str, query: dict[str, str]) -> None:
        date = query.get("X-Amz-Date", "")
        expires = query.get("X-Amz-Expires", "")
        sig = query.get("X-Amz-Signature", "")
        if not sig:
            raise S3Error(403, "AccessDenied", "Access Denied")
        want = self._signature(method, bucket, key, query.get("uploadId", ""), query.get("partNumber", ""),
                               date, expires)
        if not hmac.compare_digest(want, sig):
            raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                          "signature you provided. Check your key and signing method.")
        try:
            signed_at = datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
            if time.time() > signed_at + int(expires):
                raise S3Error(403, "AccessDenied", "Request has expired")
        except ValueError:
            raise S3Error(403, "AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 format")


# -- a tiny PNG encoder for inference results ---------------------------------------------------------


def make_png(width: int, height: int, seed: bytes) -> bytes:
    """A valid RGB PNG with a gradient coloured by ``seed``."""
    r0, g0, b0 = hashlib.sha256(seed).digest()[:3]
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type 0
        for x in range(width):
            row += bytes(((r0 + x * 3) % 256, (g0 + y * 3) % 256, (b0 + x + y) % 256))
        rows.append(bytes(row))

    def chunk(tag: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b""))
