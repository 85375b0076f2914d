"""Two OS processes writing reviews to one database file at once lose nothing."""

from __future__ import annotations

import multiprocessing
import os
import sys

from click.testing import CliRunner

from widgetserver import store
from widgetserver.cli import main

N = 200  # reviews per process


def _writer(path: str, shop_id: int, tag: str, n: int, ready, go) -> None:
    """Child process: open its own connection, wait for the start signal, write n reviews one transaction each."""
    db = store.connect(path)
    ready.set()
    go.wait(60)
    for i in range(n):
        store.add_review(db, shop_id, rating=i % 5 + 1, author=f"{tag}-{i}",
                         product_sku="SKU-1" if i % 2 else None, actor=tag)
        if i % 50 == 0:
            store.set_reply(db, shop_id, store.list_reviews(db, shop_id, limit=1)[0][0]["id"],
                            body=f"reply from {tag}", author=tag, role="Owner", actor=tag)
    db.conn.close()


def test_two_processes_writing_at_once_lose_nothing(db, shop, db_path):
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    readies = [ctx.Event(), ctx.Event()]
    procs = [ctx.Process(target=_writer, args=(db_path, shop["id"], tag, N, ready, go))
             for tag, ready in zip(("alpha", "beta"), readies)]
    for proc in procs:
        proc.start()
    try:
        for ready in readies:
            assert ready.wait(60), "a writer process did not start"
        go.set()  # both are connected; release them together
        for proc in procs:
            proc.join(120)
        assert [proc.exitcode for proc in procs] == [0, 0]
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join()

    authors = [r["author"] for r in db.query("SELECT author FROM reviews")]
    assert len(authors) == 2 * N
    assert len(set(authors)) == 2 * N
    assert store.summary_for(db, shop["id"])["count"] == 2 * N
    assert store.summary_for(db, shop["id"])["rating_sum"] == 2 * sum(i % 5 + 1 for i in range(N))
    sku1 = store.product_by_sku(db, shop["id"], "SKU-1")["id"]
    assert store.summary_for(db, shop["id"], sku1)["count"] == N
    assert store.recompute(db) == []
    count, problems = store.verify_audit(db)
    assert problems == []
    writes = db.execute("SELECT count(*) FROM audit_log WHERE actor IN ('alpha', 'beta')").fetchone()[0]
    assert writes == 2 * N + 2 * len(range(0, N, 50))
    # The data version moved once per write, so no ETag is reused.
    assert store.get_shop(db, "acme")["data_version"] >= 2 * N
    result = CliRunner().invoke(main, ["audit", "verify", "--db", db_path])
    assert result.exit_code == 0, result.output


SCRIPT = """
import sys, time
from widgetserver import store
path, shop_id, tag, n, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
db = store.connect(path)
import os
while not os.path.exists(go):
    time.sleep(0.005)
for i in range(n):
    store.add_review(db, shop_id, rating=(i * 3) % 5 + 1, author=f"{tag}-{i}", actor=tag)
"""


def test_two_python_processes_via_subprocess(db, shop, db_path, tmp_path):
    """The same with plain `python -c` processes (no multiprocessing machinery in between)."""
    import subprocess

    go = tmp_path / "go"
    n = 100
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, db_path, str(shop["id"]), tag, str(n), str(go)],
                              env=env, stderr=subprocess.PIPE)
             for tag in ("one", "two")]
    try:
        go.write_text("go")
        errors = [proc.communicate(timeout=120)[1] for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0], errors
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 2 * n
    assert store.summary_for(db, shop["id"])["count"] == 2 * n
    assert store.recompute(db) == []
    assert store.verify_audit(db)[1] == []
