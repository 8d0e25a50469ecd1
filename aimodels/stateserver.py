"""The embedded shared-state server: an S3-compatible store (and a KMS key) on loopback, for local
use and tests of Pulumi's self-managed S3 backend.

It is moto's server mode (``moto_server``, from PyPI), started and stopped like the emulator.
Pulumi itself does everything else: its S3 backend keeps each stack's checkpoint and its stack
locks in the bucket, and its ``awskms://`` secrets provider wraps each stack's data key with the
KMS key. Nothing here stores state or takes a lock.

    python -m aimodels.stateserver start [--port 4566] [--dir .state-server]   # prints `export` lines
    python -m aimodels.stateserver env   [--port 4566]                          # the same lines, no start
    python -m aimodels.stateserver stop  [--dir .state-server]

``eval "$(python -m aimodels.stateserver start)"`` then points ``pulumi`` and ``aimodels`` at it:
``PULUMI_BACKEND_URL=s3://aimodels-state?endpoint=http://127.0.0.1:4566&region=us-east-1&use_path_style=true``,
``AIMODELS_SECRETS_PROVIDER=awskms://alias/aimodels-state?endpoint=...&region=us-east-1`` and
placeholder AWS credentials (the server accepts any).

moto keeps its objects in memory: stopping the server forgets every stack in it. It is a stand-in
for a team's bucket (S3, MinIO, Ceph, ...), not a place to keep state.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BUCKET = "aimodels-state"
KEY_ALIAS = "alias/aimodels-state"
REGION = "us-east-1"
DEFAULT_PORT = 4566
# Placeholders: the local server accepts any credentials; a real bucket takes the team's own.
ACCESS_KEY_ID = "aimodels-local"
SECRET_ACCESS_KEY = "aimodels-local-not-a-secret"
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def backend_url(endpoint: str, bucket: str = BUCKET) -> str:
    return f"s3://{bucket}?endpoint={endpoint}&region={REGION}&use_path_style=true"


def secrets_provider(endpoint: str, alias: str = KEY_ALIAS) -> str:
    return f"awskms://{alias}?endpoint={endpoint}&region={REGION}"


def environment(endpoint: str) -> dict[str, str]:
    """What ``pulumi`` and ``aimodels`` need to use the server as their backend."""
    return {
        "PULUMI_BACKEND_URL": backend_url(endpoint),
        "AIMODELS_SECRETS_PROVIDER": secrets_provider(endpoint),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_REGION": REGION,
        # The local server sends no response checksums; without this the SDK warns on every read.
        "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
    }


class StateServer:
    """One ``moto_server`` process on ``127.0.0.1:port`` with the bucket and the KMS key made."""

    def __init__(self, port: int | None = None, workdir: Path | None = None, bucket: str = BUCKET) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.bucket = bucket
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**environment(self.endpoint), "PULUMI_BACKEND_URL": backend_url(self.endpoint, self.bucket)}

    def with_bucket(self, bucket: str) -> StateServer:
        """The same server seen through another (new) bucket: a fresh backend, e.g. one per test."""
        other = StateServer(self.port, None, bucket)
        other.client("s3").create_bucket(Bucket=bucket)
        return other

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def start(self, detach: bool = False) -> StateServer:
        if self.healthy():
            raise RuntimeError(f"something already answers on {self.endpoint}")
        server = Path(sys.executable).with_name("moto_server")
        if not server.exists():
            raise RuntimeError(f"{server} is missing: install the `state` extra (pip install -c requirements.lock "
                               "-e '.[state]')")
        log: Any = subprocess.DEVNULL
        if self.workdir is not None:
            self.workdir.mkdir(parents=True, exist_ok=True)
            log = (self.workdir / "state-server.log").open("ab")
        self.proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=detach)
        if self.workdir is not None:
            (self.workdir / "state-server.pid").write_text(f"{self.proc.pid}\n")
            (self.workdir / "state-server.port").write_text(f"{self.port}\n")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.healthy():
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with code {self.proc.returncode}"
                                   + (f"; see {self.workdir / 'state-server.log'}" if self.workdir else ""))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"moto_server did not answer on {self.endpoint} within {START_TIMEOUT_S:.0f} s")
            time.sleep(0.1)
        self.provision()
        return self

    def client(self, service: str) -> Any:
        import boto3  # moto's own dependency

        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY)

    def provision(self) -> None:
        """The bucket and the KMS key with its alias (idempotent)."""
        s3 = self.client("s3")
        if self.bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=self.bucket)
        kms = self.client("kms")
        if KEY_ALIAS not in {a["AliasName"] for a in kms.list_aliases().get("Aliases", [])}:
            key = kms.create_key(Description="aimodels: wraps each stack's secrets data key")
            kms.create_alias(AliasName=KEY_ALIAS, TargetKeyId=key["KeyMetadata"]["KeyId"])

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        """Every object in the bucket under ``prefix``, read back over S3. An object deleted between
        the listing and its read (a stack lock being released) is left out."""
        s3 = self.client("s3")
        out: dict[str, bytes] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                try:
                    out[item["Key"]] = s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                except s3.exceptions.NoSuchKey:
                    continue
        return out

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.workdir is not None:
            (self.workdir / "state-server.pid").unlink(missing_ok=True)


def _our_pid(workdir: Path) -> int | None:
    """The pid in the pidfile when it is still a moto_server process (never some other process)."""
    try:
        pid = int((workdir / "state-server.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"moto_server" in cmdline else None


def _exports(env: dict[str, str]) -> str:
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aimodels.stateserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("start", "stop", "env"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIMODELS_STATE_PORT") or DEFAULT_PORT))
    parser.add_argument("--dir", type=Path, default=Path(".state-server"), help="pidfile and log (default .state-server)")
    args = parser.parse_args(argv)
    server = StateServer(args.port, args.dir)
    if args.action == "env":
        sys.stdout.write(_exports(server.env))
        return 0
    if args.action == "stop":
        pid = _our_pid(args.dir)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.1)
        (args.dir / "state-server.pid").unlink(missing_ok=True)
        return 0
    if _our_pid(args.dir) is not None and server.healthy():
        server.provision()  # already ours and running
    else:
        try:
            server.start(detach=True)
        except RuntimeError as exc:
            print(f"aimodels.stateserver: {exc}", file=sys.stderr)
            return 1
    sys.stdout.write(_exports(server.env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
