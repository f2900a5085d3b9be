"""The S3 blob store against moto's S3 server on 127.0.0.1 (real HTTP, boto3 in worker threads):
an upload lands in the bucket under a generated key, downloads stream back, replace and delete
remove the old objects."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cargohold.settings import Settings

from ..conftest import MakeTenant
from ..harness import start_server
from .helpers import FILES, uploaded, wait_indexed


@pytest.fixture
def s3() -> Iterator[dict[str, Any]]:
    boto3 = pytest.importorskip("boto3")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    bucket = f"cargohold-{uuid.uuid4().hex[:12]}"  # moto keeps buckets per process, not per server
    try:
        host, port = server.get_host_and_port()
        settings = {
            "s3_bucket": bucket,
            "s3_endpoint_url": f"http://{host}:{port}",
            "s3_region": "us-east-1",
            "s3_access_key_id": "test",
            "s3_secret_access_key": "test",
        }
        client = boto3.client(
            "s3",
            endpoint_url=settings["s3_endpoint_url"],
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        client.create_bucket(Bucket=bucket)
        yield {"settings": settings, "client": client, "bucket": bucket}
    finally:
        server.stop()


def keys(s3: dict[str, Any]) -> list[str]:
    return [o["Key"] for o in s3["client"].list_objects_v2(Bucket=s3["bucket"]).get("Contents", [])]


async def test_files_in_s3(
    s3: dict[str, Any], files_settings: Callable[..., Settings], make_tenant: MakeTenant, tmp_path: Any
) -> None:
    async with start_server(files_settings(**s3["settings"])) as srv:
        tenant = await make_tenant(srv)
        file = await uploaded(tenant.client, "../handbook.md", b"# Handbook\n\nWe ship on Tuesdays.\n")
        (key,) = keys(s3)
        assert key.startswith(f"cargohold/{tenant.workspace_uuid}/{file['uuid']}/") and "handbook" not in key
        assert file["s3Filename"] == key.removeprefix("cargohold/")
        raw = await tenant.client.get(f"{FILES}/{file['uuid']}/raw")
        assert raw.content == b"# Handbook\n\nWe ship on Tuesdays.\n"
        assert (await wait_indexed(tenant.client, file["uuid"]))["indexStatus"] == "ready"  # read back from S3

        await uploaded(tenant.client, "handbook.md", b"# Handbook v2\n", uuid=file["uuid"])
        (new_key,) = keys(s3)
        assert new_key != key
        raw = await tenant.client.get(f"{FILES}/{file['uuid']}/raw")
        assert raw.content == b"# Handbook v2\n"

        assert (await tenant.client.delete(f"{FILES}/{file['uuid']}")).status_code == 200
        assert keys(s3) == []
        assert not (tmp_path / "blobs").exists()  # nothing went to the local directory
