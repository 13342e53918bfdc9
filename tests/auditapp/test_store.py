"""The artifact store on both backends: local disk and a real redis-server (started by the test)."""

from __future__ import annotations

import hashlib
import time

import pytest

from auditapp.core.errors import AuditInputError
from auditapp.service.store import ArtifactStore, SessionError
from tests.scaleout.services import redis_server


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["disk", "redis"])
def make_store(request, tmp_path, redis_url, monkeypatch):
    """Build stores that share one backend (one machine's folder each, like separate servers)."""
    monkeypatch.delenv("AUDITAPP_SECRET", raising=False)
    url = redis_url if request.param == "redis" else ""
    if url:
        import redis

        redis.Redis.from_url(url).flushdb()
    shared = tmp_path / "shared"

    def make(*, machine: str = "a", ttl: int = 3600) -> ArtifactStore:
        root = tmp_path / machine if url else shared
        return ArtifactStore(root, redis_url=url, ttl=ttl)

    make.kind = request.param
    return make


def test_upload_round_trip_and_content_addressing(make_store):
    store = make_store()
    token = store.new_session()
    info = store.put(token, b"a,b\n1,2\n", kind="dataset", name="t.csv", meta={"rows": 1})
    assert info.id == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert store.path(token, info.id).read_bytes() == b"a,b\n1,2\n"
    assert store.info(token, info.id).meta == {"rows": 1}
    assert [i.id for i in store.list(token)] == [info.id]
    assert store.kind == make_store.kind


def test_another_machine_reads_the_same_upload_and_token(make_store):
    if make_store.kind == "disk":
        pytest.skip("the disk backend is one machine by definition")
    first, second = make_store(machine="a"), make_store(machine="b")
    token = first.new_session()
    data = bytes(range(256)) * 40_000  # 10 MB: several Redis chunks
    info = first.put(token, data, kind="dataset", name="big.csv")
    path = second.path(token, info.id)
    assert path.read_bytes() == data
    assert str(path).startswith(str(second.root))


def test_guessed_or_replayed_ids_of_another_session_return_nothing(make_store):
    store = make_store()
    alice, mallory = store.new_session(), store.new_session()
    info = store.put(alice, b"secret,data\n1,2\n", kind="dataset", name="alice.csv")
    with pytest.raises(AuditInputError, match="not available in this session"):
        store.info(mallory, info.id)
    with pytest.raises(AuditInputError, match="not available in this session"):
        store.path(mallory, info.id)
    assert store.list(mallory) == []
    for bad in ("../" + info.id, info.id.upper(), "builtin:../../etc", "", None, {"id": info.id}):
        with pytest.raises(AuditInputError, match="not available in this session"):
            store.info(alice, bad)


def test_forged_and_foreign_tokens_are_refused(make_store):
    store = make_store()
    token = store.new_session()
    sid, signature = token.split(".")
    forged = f"{sid}.{'0' * 32}"
    other_server = ArtifactStore(store.root.parent / "other", redis_url="", secret=b"another secret")
    with pytest.raises(SessionError, match="not valid"):
        store.session_id(forged)
    with pytest.raises(SessionError, match="not valid"):
        other_server.session_id(token)
    with pytest.raises(SessionError, match="not valid"):
        store.session_id(None)
    assert store.session_id(token) == sid


def test_result_cache_is_shared_and_computes_once(make_store):
    first, second = make_store(machine="a"), make_store(machine="b")
    calls = []

    def compute():
        calls.append(1)
        return {"value": 42}

    assert first.cached(("k", 1), compute) == {"value": 42}
    assert second.cached(("k", 1), compute) == {"value": 42}
    assert first.cached(("k", 1), compute) == {"value": 42}
    assert len(calls) == 1


def test_a_result_cached_by_other_code_is_never_found(make_store, monkeypatch):
    """After an upgrade (or beside a process running another version), a result computed by other code is not
    served: the cache is keyed by auditapp's source too, so the new code computes its own."""
    import auditapp.service.store_cache as store_cache

    first, second = make_store(machine="a"), make_store(machine="b")
    token = first.new_session()
    assert first.cached(("k", 1), lambda: "old result", token=token) == "old result"
    fingerprint = store_cache.engine_fingerprint()
    assert len(fingerprint) == 64 and fingerprint == store_cache.engine_fingerprint()
    monkeypatch.setattr(store_cache, "engine_fingerprint", lambda: "0" * 64)  # the source changed
    assert second.peek(("k", 1)) is None and first.peek(("k", 1)) is None
    assert second.cached(("k", 1), lambda: "new result", token=token) == "new result"
    monkeypatch.undo()
    assert first.peek(("k", 1)) == "old result"  # the old code still finds its own


def test_expiry_removes_unused_artifacts_but_not_pinned_ones(make_store):
    store = make_store(ttl=100)
    token = store.new_session()
    kept = store.put(token, b"kept,1\n1,2\n", kind="dataset", name="kept.csv")
    gone = store.put(token, b"gone,1\n1,2\n", kind="dataset", name="gone.csv")
    store.cached(("result",), lambda: 1)
    store.pin(token, [kept.id], seconds=1000)
    removed = store.sweep(now=time.time() + 500)
    assert removed["blobs"] >= 1
    assert store.path(token, kept.id).exists()
    if make_store.kind == "disk":
        with pytest.raises(AuditInputError, match="has expired"):
            store.path(token, gone.id)


def test_redis_keys_expire_and_a_lease_keeps_them(make_store):
    if make_store.kind == "disk":
        pytest.skip("Redis expires its own keys")
    store = make_store(ttl=1)
    token = store.new_session()
    leased = store.put(token, b"leased\n1\n", kind="dataset", name="leased.csv")
    dropped = store.put(token, b"dropped\n1\n", kind="dataset", name="dropped.csv")
    elsewhere = make_store(machine="b", ttl=1)
    with store.lease(token, [leased.id], seconds=3):
        time.sleep(2.2)
        assert elsewhere.path(token, leased.id).read_bytes() == b"leased\n1\n"
    with pytest.raises(AuditInputError):
        elsewhere.path(token, dropped.id)


def test_invalid_ttl_setting_is_refused(tmp_path, monkeypatch):
    from auditapp.service.config import Settings

    monkeypatch.setenv("AUDITAPP_ARTIFACT_TTL", "a week")
    with pytest.raises(AuditInputError, match="AUDITAPP_ARTIFACT_TTL must be a positive whole number"):
        Settings.from_env()


def test_builtin_artifacts_are_readable_by_every_session(make_store, tmp_path):
    store = make_store()
    source = tmp_path / "demo.csv"
    source.write_bytes(b"x,y\n1,0\n")
    key = store.register_builtin("demo", source, kind="dataset", name="demo.csv")
    for token in (store.new_session(), store.new_session()):
        assert store.path(token, key).read_bytes() == b"x,y\n1,0\n"


def test_builtins_are_the_same_bytes_on_every_machine(make_store, tmp_path):
    if make_store.kind == "disk":
        pytest.skip("one machine")
    first, second = make_store(machine="a"), make_store(machine="b")
    (tmp_path / "a.skops").write_bytes(b"model bytes written on machine a")
    (tmp_path / "b.skops").write_bytes(b"model bytes regenerated on machine b")
    first.register_builtin("demo-model", tmp_path / "a.skops", kind="model", name="m.skops")
    second.register_builtin("demo-model", tmp_path / "b.skops", kind="model", name="m.skops")
    token = second.new_session()
    assert second.info(token, "builtin:demo-model").sha256 == hashlib.sha256(b"model bytes written on machine a").hexdigest()
    assert second.path(token, "builtin:demo-model").read_bytes() == b"model bytes written on machine a"


def test_a_result_is_found_only_by_the_sessions_that_computed_it_or_were_given_it(make_store):
    first, second = make_store(machine="a"), make_store(machine="b")  # two web processes
    alice, mallory, bob = first.new_session(), first.new_session(), first.new_session()
    key = ("feedback", "model-loop", "dataset-sha", "model-sha", 0)  # keys appear in shared reports
    assert first.cached(key, lambda: {"rates": [0.4, 0.6]}, token=alice) == {"rates": [0.4, 0.6]}
    assert second.find(alice, key) == {"rates": [0.4, 0.6]}  # the grant is shared like the cache
    assert first.find(mallory, key) is None and second.find(mallory, key) is None
    assert first.find("forged.token", key) is None
    second.grant(bob, key)
    assert first.find(bob, key) == {"rates": [0.4, 0.6]}
    assert first.find(alice, ("feedback", "never run")) is None


def test_grants_expire_with_the_session(make_store):
    if make_store.kind == "redis":
        pytest.skip("Redis expires the grant set itself (a TTL, like the session index)")
    store = make_store(ttl=100)
    token = store.new_session()
    store.cached(("result", 1), lambda: 1, token=token)
    assert store.sweep(now=time.time() + 500)["grants"] == 1
    assert make_store(ttl=100).find(token, ("result", 1)) is None  # a fresh process: no memory of it


def test_in_process_cache_is_bounded_in_bytes(tmp_path):
    import numpy as np
    import pandas as pd

    store = ArtifactStore(tmp_path, redis_url="", memory_bytes=30 * 1024**2)
    frames = {i: pd.DataFrame({"x": np.full(1_000_000, i, dtype=np.int64)}) for i in range(5)}  # 8 MB each
    for i, frame in frames.items():
        store.cached(("frame", i), lambda f=frame: f, disk=False)
        assert store.memory_used <= 30 * 1024**2
    assert store.memory_used >= 16 * 1024**2  # the newest ones are kept
    calls = []
    store.cached(("frame", 4), lambda: calls.append(1), disk=False)
    assert calls == []  # the newest is a hit
    store.cached(("frame", 0), lambda: calls.append(1) or frames[0], disk=False)
    assert calls == [1]  # the oldest was evicted
    text = pd.DataFrame({"s": [f"{i:>100}" for i in range(200_000)]})  # 20 MB of characters
    store.cached(("text",), lambda: text, disk=False)
    assert 20 * 1024**2 <= store.memory_used <= 30 * 1024**2  # its text is counted, and others made room


def test_values_over_the_disk_limit_are_not_pickled(tmp_path):
    import numpy as np

    store = ArtifactStore(tmp_path, redis_url="", disk_value_bytes=1024**2)
    store.cached(("small",), lambda: np.zeros(1000))
    store.cached(("large",), lambda: np.zeros(1_000_000))  # 8 MB
    pickles = {p.stat().st_size for p in (tmp_path / "cache").iterdir()}
    assert len(pickles) == 1 and max(pickles) < 1024**2
    assert ArtifactStore(tmp_path, redis_url="").peek(("large",)) is None  # another process recomputes


def test_cache_limit_settings_are_read_from_the_environment(tmp_path, monkeypatch):
    from auditapp.service.config import Settings

    monkeypatch.setenv("AUDITAPP_MEMORY_CACHE_BYTES", "lots")
    with pytest.raises(AuditInputError, match="AUDITAPP_MEMORY_CACHE_BYTES must be a positive whole number"):
        Settings.from_env()
    monkeypatch.setenv("AUDITAPP_MEMORY_CACHE_BYTES", "2048")
    monkeypatch.setenv("AUDITAPP_DISK_CACHE_MAX_BYTES", "4096")
    store = Settings.from_env().open_store()
    assert (store._memory_bytes, store._disk_value_bytes) == (2048, 4096)


def test_failed_logins_are_counted_where_every_process_sees_them(make_store):
    from auditapp.service.login import Login, hash_password

    first, second = make_store(machine="a"), make_store(machine="b")
    users = {"ana": hash_password("right", iterations=1_000)}
    web1 = Login(users, secret=b"k", failures=first.recent_failures)
    web2 = Login(users, secret=b"k", failures=second.recent_failures)
    for _ in range(5):
        assert web1.check("ana", "wrong", "203.0.113.9") == web2.check("ana", "wrong", "203.0.113.9")
    refused = web1.check("ana", "right", "203.0.113.9")
    assert refused.user is None and 299 < refused.retry_after <= 300  # 10 failures over both processes
    assert web2.check("ana", "right", "198.51.100.4").user == "ana"  # another address may still log in
    assert len(first.recent_failures("client:203.0.113.9", window=300)) == 10
    first.recent_failures("client:203.0.113.9", window=300, add=True, keep=10)
    assert len(second.recent_failures("client:203.0.113.9", window=300)) == 10  # only the last 10 are kept
