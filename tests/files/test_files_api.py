"""The content routes over real HTTP: upload (sniffed type, sanitised name, replace in place),
list, get, rename/move, raw download, delete, folders, at `/v1/content/files` and the older
`/v1/ai/files`; refusals (no file, too large, unknown folder) store nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from cargohold.settings import Settings

from ..conftest import MakeTenant, Tenant
from ..harness import new_uuid, start_server
from .helpers import FILES, upload, uploaded, wait_indexed

OLD = "/v1/ai/files"
FOLDERS = "/v1/content/folders"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def blobs_in(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


class TestFiles:
    async def test_upload_list_get_rename_download_delete(self, ours: Tenant, tmp_path: Path) -> None:
        file = await uploaded(ours.client, "notes.md", b"# Notes\n\nRemote work is allowed on Fridays.\n")
        assert file["name"] == "notes.md"
        assert file["contentType"].startswith("text/")
        assert file["size"] == 44 and file["isTemporary"] is False and file["kind"] == "native"
        assert file["workspaceUuid"] == str(ours.workspace_uuid) and file["userUuid"] == str(ours.user_uuid)
        assert file["indexStatus"] in {"pending", "indexing", "ready"}
        assert (await wait_indexed(ours.client, file["uuid"]))["indexStatus"] == "ready"

        for prefix in (FILES, OLD):  # the older paths answer the same
            listed = (await ours.client.get(f"{prefix}/list")).json()["files"]
            assert [f["uuid"] for f in listed] == [file["uuid"]]
            got = (await ours.client.get(f"{prefix}/{file['uuid']}")).json()["file"]
            assert got["name"] == "notes.md"

        renamed = await ours.client.put(f"{OLD}/{file['uuid']}", json={"name": "../policy/remote.md"})
        assert renamed.status_code == 200 and renamed.json()["file"]["name"] == "remote.md"

        raw = await ours.client.get(f"{FILES}/{file['uuid']}/raw")
        assert raw.status_code == 200 and raw.content == b"# Notes\n\nRemote work is allowed on Fridays.\n"
        assert raw.headers["content-disposition"] == "attachment; filename*=UTF-8''remote.md"
        assert raw.headers["x-content-type-options"] == "nosniff"

        assert len(blobs_in(tmp_path / "blobs")) == 1
        assert (await ours.client.delete(f"{FILES}/{file['uuid']}")).status_code == 200
        for method, path in (("GET", ""), ("GET", "/raw"), ("DELETE", ""), ("PUT", "")):
            body = {} if method == "PUT" else None
            gone = await ours.client.request(method, f"{FILES}/{file['uuid']}{path}", json=body)
            assert gone.status_code == 404 and gone.json()["reason"] == "fileNotFound", (method, path)
        assert (await ours.client.get(f"{FILES}/list")).json()["files"] == []
        assert blobs_in(tmp_path / "blobs") == []

    async def test_type_is_sniffed_and_name_sanitised(self, ours: Tenant, tmp_path: Path) -> None:
        response = await upload(ours.client, "../../etc/pass\u202ewd.txt", PDF, "text/plain", prefix=OLD)
        assert response.status_code == 200, response.text
        (file,) = response.json()["files"]
        assert file["contentType"] == "application/pdf"  # the bytes say so, whatever the client claimed
        assert file["name"] == "passwd.txt"
        (blob,) = blobs_in(tmp_path / "blobs")
        assert blob.is_relative_to(tmp_path / "blobs") and "passwd" not in str(blob)
        assert blob.read_bytes() == PDF

    async def test_replace_in_place(self, ours: Tenant, tmp_path: Path) -> None:
        file = await uploaded(ours.client, "a.txt", b"first version")
        await wait_indexed(ours.client, file["uuid"])
        again = await uploaded(ours.client, "b.txt", b"second version, longer", uuid=file["uuid"])
        assert again["uuid"] == file["uuid"] and again["name"] == "b.txt" and again["size"] == 22
        assert again["indexStatus"] in {"pending", "indexing"}
        assert (await ours.client.get(f"{FILES}/{file['uuid']}/raw")).content == b"second version, longer"
        assert len((await ours.client.get(f"{FILES}/list")).json()["files"]) == 1
        assert [p.read_bytes() for p in blobs_in(tmp_path / "blobs")] == [b"second version, longer"]
        assert (await wait_indexed(ours.client, file["uuid"]))["indexStatus"] == "ready"

    async def test_refusals_store_nothing(self, ours: Tenant, tmp_path: Path) -> None:
        cases = [
            (await ours.client.post(f"{FILES}/upload", json={"folderUuid": None}), 400, "noFile"),
            (await ours.client.post(f"{FILES}/upload", files={"x": ("a", b"a")}), 400, None),
            (await upload(ours.client, "a.txt", b"a", folderUuid=new_uuid()), 404, "folderNotFound"),
            (await upload(ours.client, "a.txt", b"a", uuid=new_uuid()), 404, "fileNotFound"),
            (await upload(ours.client, "a.txt", b"a", folderUuid="not-a-uuid"), 400, None),
        ]
        for response, status, reason in cases:
            assert response.status_code == status, response.text
            assert response.json()["errorMessage"]
            if reason:
                assert response.json()["reason"] == reason
        assert (await ours.client.get(f"{FILES}/list")).json()["files"] == []
        assert blobs_in(tmp_path / "blobs") == []


class TestTooLarge:
    async def test_past_the_limit_is_413_and_nothing_is_stored(
        self, files_settings: Callable[..., Settings], make_tenant: MakeTenant, tmp_path: Path
    ) -> None:
        limit = 200_000
        async with start_server(files_settings(max_upload_bytes=limit)) as srv:
            tenant = await make_tenant(srv)
            ok = await uploaded(tenant.client, "fits.txt", b"x" * limit)
            assert ok["size"] == limit
            for size in (limit + 1, limit + 60_000):  # within the room left for the multipart framing
                response = await upload(tenant.client, "big.txt", b"y" * size)
                assert response.status_code == 413, response.text
                assert response.json()["reason"] == "payloadTooLarge"
                assert "CARGOHOLD_MAX_UPLOAD_BYTES" in response.json()["errorMessage"]

            async def chunked() -> object:  # no Content-Length: counted as it streams
                boundary = b'--b\r\nContent-Disposition: form-data; name="file"; filename="c.txt"\r\n\r\n'
                yield boundary
                for _ in range(15):
                    yield b"z" * 20_000
                yield b"\r\n--b--\r\n"

            response = await tenant.client.post(
                f"{FILES}/upload", content=chunked(), headers={"content-type": "multipart/form-data; boundary=b"}
            )
            assert response.status_code == 413 and response.json()["reason"] == "payloadTooLarge"
            files = (await tenant.client.get(f"{FILES}/list")).json()["files"]
            assert [f["name"] for f in files] == ["fits.txt"]
            assert len(blobs_in(tmp_path / "blobs")) == 1
            # a declared length past the limit is answered before the body arrives
            host, port = srv.base_url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                head = (
                    f"POST {FILES}/upload HTTP/1.1\r\nHost: {host}\r\n"
                    f"Authorization: {tenant.client.headers['Authorization']}\r\n"
                    "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000000\r\n\r\n"
                )
                writer.write(head.encode() + b"--b\r\n")
                await writer.drain()
                status_line = await asyncio.wait_for(reader.readline(), timeout=10)
                assert b" 413 " in status_line, status_line
            finally:
                writer.close()
            # other bodies keep their own limit
            assert (await tenant.client.post("/v1/content/folders", json={"name": "n" * 300})).status_code == 400


class TestFolders:
    async def test_folders(self, ours: Tenant) -> None:
        created = await ours.client.post(FOLDERS, json={"name": "Policies"})
        assert created.status_code == 200, created.text
        folder = created.json()["folder"]
        assert folder["name"] == "Policies" and folder["workspaceUuid"] == str(ours.workspace_uuid)
        assert (await ours.client.get(f"{FOLDERS}/list")).json()["folders"] == [folder]

        inside = await uploaded(ours.client, "in.txt", b"inside", folderUuid=folder["uuid"])
        outside = await uploaded(ours.client, "out.txt", b"outside")
        assert inside["folderUuid"] == folder["uuid"] and outside["folderUuid"] is None
        listed = (await ours.client.get(f"{FILES}/list", params={"folderUuid": folder["uuid"]})).json()["files"]
        assert [f["uuid"] for f in listed] == [inside["uuid"]]

        moved = await ours.client.put(f"{FILES}/{outside['uuid']}", json={"folderUuid": folder["uuid"]})
        assert moved.json()["file"]["folderUuid"] == folder["uuid"]
        listed = (await ours.client.get(f"{FILES}/list", params={"folderUuid": folder["uuid"]})).json()["files"]
        assert {f["uuid"] for f in listed} == {inside["uuid"], outside["uuid"]}
        bad = await ours.client.put(f"{FILES}/{outside['uuid']}", json={"folderUuid": new_uuid()})
        assert bad.status_code == 404 and bad.json()["reason"] == "folderNotFound"
        renamed_only = await ours.client.put(f"{FILES}/{outside['uuid']}", json={"name": "kept.txt"})
        assert renamed_only.json()["file"]["folderUuid"] == folder["uuid"]  # absent field: left as it is

        renamed = await ours.client.put(f"{FOLDERS}/{folder['uuid']}", json={"name": "HR"})
        assert renamed.json()["folder"]["name"] == "HR"
        refused = await ours.client.delete(f"{FOLDERS}/{folder['uuid']}")
        assert refused.status_code == 409 and refused.json()["reason"] == "folderNotEmpty"
        out = await ours.client.put(f"{FILES}/{outside['uuid']}", json={"folderUuid": None})
        assert out.json()["file"]["folderUuid"] is None
        await ours.client.delete(f"{FILES}/{inside['uuid']}")
        assert (await ours.client.delete(f"{FOLDERS}/{folder['uuid']}")).status_code == 200
        assert (await ours.client.get(f"{FOLDERS}/list")).json()["folders"] == []
        gone = await ours.client.get(f"{FILES}/list", params={"folderUuid": folder["uuid"]})
        assert gone.status_code == 404 and gone.json()["reason"] == "folderNotFound"


class TestIsolation:
    async def test_another_workspace_sees_nothing(self, ours: Tenant, theirs: Tenant) -> None:
        folder = (await ours.client.post(FOLDERS, json={"name": "Private"})).json()["folder"]
        file = await uploaded(ours.client, "secret.txt", b"the launch code is 4471", folderUuid=folder["uuid"])
        f, d = file["uuid"], folder["uuid"]
        for prefix in (FILES, OLD):
            for method, path, body in (
                ("GET", f"{prefix}/{f}", None),
                ("GET", f"{prefix}/{f}/raw", None),
                ("PUT", f"{prefix}/{f}", {"name": "mine.txt"}),
                ("DELETE", f"{prefix}/{f}", None),
            ):
                response = await theirs.client.request(method, path, json=body)
                assert response.status_code == 404 and response.json()["reason"] == "fileNotFound", (method, path)
            assert (await theirs.client.get(f"{prefix}/list")).json()["files"] == []
            replaced = await upload(theirs.client, "x.txt", b"overwrite", prefix=prefix, uuid=f)
            assert replaced.status_code == 404 and replaced.json()["reason"] == "fileNotFound"
            into = await upload(theirs.client, "x.txt", b"x", prefix=prefix, folderUuid=d)
            assert into.status_code == 404 and into.json()["reason"] == "folderNotFound"
        for method, path, body in (
            ("GET", f"{FOLDERS}/{d}", None),
            ("PUT", f"{FOLDERS}/{d}", {"name": "mine"}),
            ("DELETE", f"{FOLDERS}/{d}", None),
            ("GET", f"{FILES}/list?folderUuid={d}", None),
        ):
            response = await theirs.client.request(method, path, json=body)
            assert response.status_code == 404 and response.json()["reason"] == "folderNotFound", (method, path)
        assert (await theirs.client.get(f"{FOLDERS}/list")).json()["folders"] == []
        moved = await theirs.client.put(f"{FILES}/{f}", json={"folderUuid": d})
        assert moved.status_code == 404
        # the owner's file and folder are untouched
        kept = (await ours.client.get(f"{FILES}/{f}")).json()["file"]
        assert kept["name"] == "secret.txt" and kept["folderUuid"] == d
        assert (await ours.client.get(f"{FILES}/{f}/raw")).content == b"the launch code is 4471"


class TestIndexingSurvivesRestart:
    async def test_pending_work_is_picked_up_at_start(
        self, files_settings: Callable[..., Settings], make_tenant: MakeTenant
    ) -> None:
        async with start_server(files_settings(index_concurrency=0)) as srv:  # a replica that indexes nothing
            tenant = await make_tenant(srv)
            file = await uploaded(tenant.client, "later.txt", b"indexed after a restart")
            assert (await tenant.client.get(f"{FILES}/{file['uuid']}")).json()["file"]["indexStatus"] == "pending"
            token = tenant.client.headers["authorization"]
        async with start_server(files_settings()) as srv:
            tenant.client.base_url = srv.base_url  # type: ignore[assignment]
            tenant.client.headers["authorization"] = token
            assert (await wait_indexed(tenant.client, file["uuid"]))["indexStatus"] == "ready"


class TestClaims:
    async def test_one_replica_wins_a_file(
        self, files_settings: Callable[..., Settings], make_tenant: MakeTenant
    ) -> None:
        """Not over HTTP: two replicas' claims race on the database (the indexer's own query), and
        exactly one gets the file; a stale claim is taken over, a fresh one is not."""
        import uuid as uuid_module

        from cargohold.store.files import claim_file

        async with start_server(files_settings(index_concurrency=0)) as srv:
            tenant = await make_tenant(srv)
            file = await uploaded(tenant.client, "race.txt", b"claimed once")
            file_uuid = uuid_module.UUID(file["uuid"])

            async def claim(lease: float) -> bool:
                async with srv.state.sessions() as session, session.begin():
                    return await claim_file(session, file_uuid, 1, lease)

            assert sorted(await asyncio.gather(claim(60), claim(60))) == [False, True]
            assert await claim(60) is False  # claimed a moment ago: not stale
            assert await claim(0.0) is True  # a claim older than the lease is taken over
            assert (await tenant.client.get(f"{FILES}/{file['uuid']}")).json()["file"]["indexStatus"] == "indexing"
