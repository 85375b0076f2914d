"""Read throughput: the widget server (gunicorn, 2 workers) vs a bare Flask app returning the same bytes, per path.

Runs against the installed package (`pip install .` or `-e .`; nothing is put on PYTHONPATH). Both
servers run side by side under the same gunicorn settings; the load generator (wrk when installed,
else a bounded Python generator on loopback) alternates app and baseline rounds, path by path, so
machine noise hits both alike. Reports requests/s per path for both (median and range over the
rounds), the ratio of the medians against the goal, and the widget server's peak RSS (master and
workers, from /proc).

    python benchmarks/fragment_throughput.py [--seconds 5] [--rounds 5] [--connections 32]
        [--path /w/demo/list.html ...] [--header 'Accept-Encoding: br']
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

# The paths of issue 11's table and their goals (bare-Flask ratio).
GOALS = {
    "/api/v1/shops/demo/reviews": 0.6,
    "/api/v1/shops/demo/summary": 0.7,
    "/s/demo": 0.6,
    "/w/demo/list.html": 0.85,
}

BARE_APP = '''
import json
from flask import Flask, Response, request
ANSWERS = {{k: (open(f, "rb").read(), t, e) for k, (f, t, e) in json.load(open({index!r})).items()}}
app = Flask(__name__)

@app.get("/<path:anything>")
def same_bytes(anything):
    body, content_type, encoding = ANSWERS[request.full_path.rstrip("?")]
    response = Response(body, content_type=content_type)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    return response
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, headers: dict) -> tuple[bytes, str, str | None]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as answer:
        return answer.read(), answer.headers["Content-Type"], answer.headers.get("Content-Encoding")


def wait_up(url: str, timeout: float = 60) -> None:
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
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
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
    exe = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
    if not exe:
        raise SystemExit("gunicorn is not installed: pip install '.[test]'")
    return subprocess.Popen([exe, "-w", "2", "-b", f"127.0.0.1:{port}", "--access-logfile", "/dev/null",
                             "--error-logfile", "-", "--log-level", "warning", app_spec],
                            env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def load_wrk(url: str, seconds: int, connections: int, headers: dict) -> float:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def load_python(url: str, seconds: int, connections: int, headers: dict) -> float:
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
            conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""), headers=headers)
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
    parser.add_argument("--seconds", type=int, default=5, help="per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternating app/baseline rounds per path")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--path", action="append", help=f"default: {', '.join(GOALS)}")
    parser.add_argument("--header", action="append", default=[], help="e.g. 'Accept-Encoding: br' (sent by both)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    paths = args.path or list(GOALS)
    headers = dict(h.split(": ", 1) for h in args.header)
    load = load_wrk if shutil.which("wrk") else load_python

    import widgetserver
    from widgetserver import create_app, store
    from widgetserver.demo import build_demo

    with tempfile.TemporaryDirectory() as tmp:
        db_path = os.path.join(tmp, "bench.db")
        app = create_app({"DATABASE": db_path}, serving=False)
        db = store.connect(db_path)
        build_demo(db)
        count = store.summary_for(db, store.get_shop(db, "demo")["id"])["count"]
        db.conn.close()
        # The installed package, from a neutral working directory: no checkout on the path.
        env = {**os.environ, "WIDGETSERVER_DB": db_path, "WIDGETSERVER_SECRET_KEY": app.config["SECRET_KEY"],
               "WIDGETSERVER_TRUSTED_HOSTS": '["127.0.0.1"]'}
        env.pop("PYTHONPATH", None)
        servers = []
        try:
            app_port, bare_port = free_port(), free_port()
            server = gunicorn("widgetserver:create_app()", app_port, env, tmp)
            servers.append(server)
            wait_up(f"http://127.0.0.1:{app_port}/api/v1/shops/demo")
            index, sizes = {}, {}
            for i, path in enumerate(paths):
                body, content_type, encoding = fetch(f"http://127.0.0.1:{app_port}{path}", headers)
                Path(tmp, f"body{i}").write_bytes(body)
                sizes[path] = len(body)
                index[path] = (str(Path(tmp, f"body{i}")), content_type, encoding)
            Path(tmp, "index.json").write_text(json.dumps(index))
            Path(tmp, "bare.py").write_text(BARE_APP.format(index=str(Path(tmp, "index.json"))))
            servers.append(gunicorn("bare:app", bare_port, env, tmp))
            wait_up(f"http://127.0.0.1:{bare_port}{paths[0]}")
            for path in paths:
                assert fetch(f"http://127.0.0.1:{bare_port}{path}", headers)[0] == Path(index[path][0]).read_bytes()
            rss = PeakRSS(server.pid)
            rss.start()
            figures = {}
            for path in paths:
                for port in (app_port, bare_port):  # warm-up: every worker renders and caches
                    load(f"http://127.0.0.1:{port}{path}", 1, args.connections, headers)
                runs = {"app": [], "bare": []}
                for _ in range(args.rounds):
                    runs["app"].append(load(f"http://127.0.0.1:{app_port}{path}", args.seconds, args.connections, headers))
                    runs["bare"].append(load(f"http://127.0.0.1:{bare_port}{path}", args.seconds, args.connections, headers))
                figures[path] = runs
                print(f"  {path}: app {[round(x) for x in runs['app']]} bare {[round(x) for x in runs['bare']]}",
                      flush=True)
            rss.running = False
            rss.join()
        finally:
            for s in servers:
                s.terminate()
                s.wait(timeout=10)

    gen = f"wrk -t2 -c{args.connections} -d{args.seconds}s" if load is load_wrk else "python"
    print(f"load generator: {gen}, {args.rounds} alternating rounds per path; headers: {headers or 'none'}")
    print(f"widgetserver {widgetserver.__file__}; demo shop with {count} reviews")
    print(f"{'path':<32} {'body':>12} {'app req/s (range)':>24} {'bare req/s (range)':>24} {'ratio':>6} {'goal':>5}")
    results = {}
    for path, runs in figures.items():
        app_med, bare_med = statistics.median(runs["app"]), statistics.median(runs["bare"])
        ratio = app_med / bare_med
        goal = GOALS.get(path)
        results[path] = {"app": runs["app"], "bare": runs["bare"], "ratio": ratio, "goal": goal, "bytes": sizes[path]}
        body = f"{sizes[path]:,} B {index[path][2] or ''}".strip()
        print(f"{path:<32} {body:>12} "
              f"{app_med:>8,.0f} ({min(runs['app']):,.0f}-{max(runs['app']):,.0f}) "
              f"{bare_med:>8,.0f} ({min(runs['bare']):,.0f}-{max(runs['bare']):,.0f}) "
              f"{ratio:>6.2f} {goal if goal else '-':>5}")
    print(f"widget server peak RSS (master + 2 workers): {rss.peak / 1024:.1f} MiB")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
