import pytest

from imaging import DERIVATIVES, ORIGINALS, encoded, gradient


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch):
    """Fake credentials, so that no test can ever reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3():
    """moto S3 with the two buckets of the shipped events; yields a boto3 client."""
    import boto3
    from moto import mock_aws

    from edge import storage

    with mock_aws():
        storage.forget_clients()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=ORIGINALS)
        client.create_bucket(Bucket=DERIVATIVES)
        yield client
    storage.forget_clients()


@pytest.fixture
def put_original(s3):
    def put(key: str, body: bytes) -> None:
        s3.put_object(Bucket=ORIGINALS, Key=key, Body=body)

    return put


@pytest.fixture
def stored(s3):
    """The derivatives bucket's objects as {key: (bytes, content type, cache control)}."""

    def read() -> dict[str, tuple[bytes, str, str]]:
        objects = {}
        for item in s3.list_objects_v2(Bucket=DERIVATIVES).get("Contents", []):
            got = s3.get_object(Bucket=DERIVATIVES, Key=item["Key"])
            objects[item["Key"]] = (got["Body"].read(), got["ContentType"], got.get("CacheControl"))
        return objects

    return read


@pytest.fixture
def originals_snapshot(s3):
    """Call it before and after: the originals bucket must never change."""

    def snapshot() -> dict[str, bytes]:
        return {
            item["Key"]: s3.get_object(Bucket=ORIGINALS, Key=item["Key"])["Body"].read()
            for item in s3.list_objects_v2(Bucket=ORIGINALS).get("Contents", [])
        }

    return snapshot


@pytest.fixture
def pillow_opens(monkeypatch):
    """What Image.open was asked to open during the test: a check refused the original first when empty."""
    from PIL import Image

    opened = []
    monkeypatch.setattr(Image, "open", lambda *args, **kwargs: opened.append(args))
    return opened


@pytest.fixture(scope="module")
def twelve_megapixel_jpeg() -> bytes:
    return encoded(gradient((4000, 3000)), "JPEG", quality=90)


@pytest.fixture
def cat(put_original, twelve_megapixel_jpeg):
    put_original("photos/cat.jpg", twelve_megapixel_jpeg)
