"""S3 for the local CDN: moto's server mode on loopback, or any S3-compatible endpoint.

The function's boto3 clients are built with default arguments, as they must be
in Lambda. They reach the local S3 the standard way, through AWS_ENDPOINT_URL
and the usual credential variables in the process environment.
"""

import logging
import mimetypes
import os
import re
import socket
import threading
from pathlib import Path

import boto3

from edge import config as edge_config

LOOPBACK = "127.0.0.1"
ORIGINALS_BUCKET = "image-cdn-originals"  # the names events/*.json use
DERIVATIVES_BUCKET = "image-cdn-derivatives"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".tif", ".tiff", ".bmp"})


class EmbeddedS3:
    """moto's S3 server in a thread of this process, on loopback: `with EmbeddedS3() as endpoint_url:`; OSError
    where its port cannot be bound."""

    def __init__(self, port: int = 0):
        self._port = port
        self._server = None
        self._thread = None

    def __enter__(self) -> str:
        # moto is a dev dependency: imported only when used. This is what moto's ThreadedMotoServer runs, but
        # bound here: werkzeug prints and exits where it cannot bind, which ends that server's thread alone,
        # and its start() then waits for it forever.
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        # Werkzeug logs every request at INFO; the emulator logs the ones that matter.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        with socket.create_server((LOOPBACK, self._port)) as listening:  # werkzeug serves a duplicate of it
            self._server = make_server(LOOPBACK, listening.getsockname()[1],
                                       DomainDispatcherApplication(create_backend_app), threaded=True,
                                       request_handler=MotoRequestHandler, fd=listening.fileno())
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedded-s3", daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


def boto3_environment(endpoint_url: str | None, region: str, dummy_credentials: bool) -> dict[str, str | None]:
    """Variables to set (None: to unset) so that every default-built boto3 client uses this S3."""
    environment: dict[str, str | None] = {"AWS_DEFAULT_REGION": region, "AWS_ENDPOINT_URL": endpoint_url}
    if dummy_credentials:
        # A user's profile or session token must not leak into requests to a throwaway local server.
        environment |= {
            "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": None, "AWS_PROFILE": None,
        }
    return environment


def apply_environment(environment: dict[str, str | None]) -> None:
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def forget_edge_clients() -> None:
    """The function caches its S3 clients per container; one built for another S3 must not be reused."""
    from edge import storage

    storage.forget_clients()


def s3_client(endpoint_url: str | None, region: str):
    return boto3.client("s3", region_name=region, endpoint_url=endpoint_url)


def refused_bucket_names(*names: str) -> list[str]:
    """The names S3 would not create a bucket under (the rule the function reads its origin's domain by)."""
    return [name for name in names if not re.fullmatch(edge_config.BUCKET_NAME, name)]


def create_buckets(client, region: str, *names: str) -> None:
    # S3 refuses an explicit us-east-1 location constraint, and requires one anywhere else.
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    for name in names:
        client.create_bucket(Bucket=name, **location)


def missing_buckets(client, *names: str) -> list[str]:
    from botocore.exceptions import ClientError

    missing = []
    for name in names:
        try:
            client.head_bucket(Bucket=name)
        except ClientError:
            missing.append(name)
    return missing


def image_files(folder: Path) -> list[Path]:
    """The image files under a folder, hidden ones left out, and those in a hidden folder (.thumbnails, .git)."""
    return [
        path for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]


def folder_originals(folder: Path) -> dict[str, bytes]:
    """The image files under a folder, keyed by their path relative to it."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in image_files(folder)}


def put_originals(client, bucket: str, originals: dict[str, bytes]) -> None:
    for key, body in originals.items():
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
