"""One Dask cluster for every backfill test: two worker processes, started once per session,
after moto's S3 server is up on 127.0.0.1 and the environment points fsspec at it
(FSSPEC_S3_ENDPOINT_URL), so the workers find the endpoint as workers of a real cluster would.
"""

from __future__ import annotations

import pytest

BUCKET = "exports"


@pytest.fixture(scope="session")
def s3():
    """An S3 endpoint on loopback with one bucket; an s3fs filesystem on it."""
    import fsspec.config
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    patch = pytest.MonkeyPatch()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "FSSPEC_S3_ENDPOINT_URL": endpoint,
        "NO_PROXY": "127.0.0.1",
    }.items():
        patch.setenv(name, value)
    fsspec.config.set_conf_env(fsspec.config.conf)  # this process reads the environment now too
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=endpoint)
    fs.mkdir(BUCKET)
    yield fs
    patch.undo()
    fsspec.config.conf.pop("s3", None)
    server.stop()


@pytest.fixture(scope="session")
def client(s3):
    """Two worker processes, one thread each: the embedded cluster of `backfill --workers 2`."""
    from accoil_map.backfill.driver import connect

    with connect(workers=2) as dask_client:
        yield dask_client
