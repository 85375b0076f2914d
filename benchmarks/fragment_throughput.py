"""Fragment throughput: gunicorn (2 workers) serving /w/demo/list.html vs a bare Flask app returning the same bytes.

Both run in the same invocation under the same gunicorn settings and the same load generator (wrk when
installed, else a bounded Python generator on loopback). Reports requests/s for both, their ratio (target
>= 70 %) and the widget server's peak RSS summed over the gunicorn master and workers (from /proc).

    /work/venv/bin/python benchmarks/fragment_throughput.py [--seconds 10] [--connections 32] [--path /w/demo/list.html]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

BARE_APP = '''
from flask import Flask, Response
BODY = open({body!r}, "rb").read()
app = Flask(__name__)

@app.get("/<path:anything>")
def same_bytes(anything):
    return Response(BODY, mimetype="text/html")
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


def rss_kb(pid: int) -> int:
    """RSS of pid plus its children (gunicorn master and workers), in kB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class PeakRSS(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.1)


def gunicorn(app_spec: str, port: int, env: dict, cwd: str) -> subprocess.Popen:
    exe = str(Path(sys.executable).with_name("gunicorn"))
    return subprocess.Popen([exe, "-w", "2", "-b", f"127.0.0.1:{port}", "--access-logfile", "/dev/null",
                             "--error-logfile", "-", "--log-level", "warning", app_spec],
                            env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def load_wrk(url: str, seconds: int, connections: int) -> float:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url],
                         capture_output=True, text=True, check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def load_python(url: str, seconds: int, connections: int) -> float:
    """A bounded keep-alive load generator: `connections` threads, loopback only, for `seconds`."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit("the Python load generator only targets loopback")
    counts = [0] * connections
    stop = time.monotonic() + seconds

    def worker(i):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while time.monotonic() < stop:
            conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""))
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                counts[i] += 1
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--path", default="/w/demo/list.html")
    args = parser.parse_args()
    load = load_wrk if shutil.which("wrk") else load_python
    repo = str(Path(__file__).resolve().parent.parent)

    with tempfile.TemporaryDirectory() as tmp:
        db_path = os.path.join(tmp, "bench.db")
        sys.path.insert(0, repo)
        from widgetserver import create_app, store
        from widgetserver.demo import build_demo

        app = create_app({"DATABASE": db_path})
        db = store.connect(db_path)
        build_demo(db)
        count = store.summary_for(db, store.get_shop(db, "demo")["id"])["count"]
        db.conn.close()
        env = {**os.environ, "WIDGETSERVER_DB": db_path, "WIDGETSERVER_SECRET_KEY": app.config["SECRET_KEY"],
               "PYTHONPATH": repo}

        port = free_port()
        server = gunicorn("widgetserver:create_app()", port, env, tmp)
        try:
            url = f"http://127.0.0.1:{port}{args.path}"
            wait_up(url)
            body = urllib.request.urlopen(url).read()
            Path(tmp, "body.html").write_bytes(body)
            load(url, 2, args.connections)  # warm-up: every worker renders and caches the fragment
            rss = PeakRSS(server.pid)
            rss.start()
            app_rps = load(url, args.seconds, args.connections)
            rss.running = False
            rss.join()
        finally:
            server.terminate()
            server.wait(timeout=10)

        Path(tmp, "bare.py").write_text(BARE_APP.format(body=str(Path(tmp, "body.html"))))
        port = free_port()
        bare = gunicorn("bare:app", port, {**env, "PYTHONPATH": tmp}, tmp)
        try:
            url = f"http://127.0.0.1:{port}{args.path}"
            wait_up(url)
            assert urllib.request.urlopen(url).read() == body
            load(url, 2, args.connections)
            bare_rps = load(url, args.seconds, args.connections)
        finally:
            bare.terminate()
            bare.wait(timeout=10)

    ratio = app_rps / bare_rps
    print(f"load generator: {'wrk -t2 -c%d -d%ds' % (args.connections, args.seconds) if load is load_wrk else 'python'}")
    print(f"fragment: {args.path} ({len(body)} bytes, demo shop with {count} reviews)")
    print(f"widget server (gunicorn -w 2): {app_rps:,.0f} requests/s")
    print(f"bare Flask, same bytes (gunicorn -w 2): {bare_rps:,.0f} requests/s")
    print(f"ratio: {ratio:.0%} (target >= 70%)")
    print(f"widget server peak RSS (master + 2 workers): {rss.peak / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
