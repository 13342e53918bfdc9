"""Peak memory of refusing (or reading) a Parquet decompression bomb, through the upload route and the CLI.

    python bench/bench_table_bomb.py                 # this checkout
    python bench/bench_table_bomb.py --root DIR      # another checkout (e.g. before a change)

The file: 5,000,000 rows × 50 int64 zero columns, about 1.1 MB with zstd (2 GB once read). Each
measurement runs in its own child process and reports that process's peak resident memory
(``ru_maxrss``) and what it answered; the upload route also reports what it left in the shared cache.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
ROUTE = """
import json, resource, sys, tempfile, time
from pathlib import Path
from flask import Flask
from auditapp.service.config import Settings
from auditapp.service.store import ArtifactStore
from callbacks.routes import register_routes

root = Path(tempfile.mkdtemp())
store = ArtifactStore(root / "store", redis_url="")
server = Flask("bomb")
register_routes(server, store, Settings(data_dir=str(root / "store")))
client, token = server.test_client(), store.new_session()
data = Path(sys.argv[1]).read_bytes()
before, start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
answer = client.post("/api/upload/dataset", data=data, headers={"X-Auditapp-Session": token, "X-Filename": "bomb.parquet"})
seconds = time.perf_counter() - start
rss = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
print(json.dumps({"before_kb": before, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "after_kb": rss, "seconds": seconds, "answer": answer.get_json(),
                  "cache_bytes": sum(p.stat().st_size for p in (root / "store" / "cache").iterdir())}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose code is measured")
    args = parser.parse_args()
    root = args.root.resolve()
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        bomb = Path(tmp) / "bomb.parquet"
        zeros = pa.array(np.zeros(5_000_000, dtype=np.int64))
        pq.write_table(pa.table({f"c{i}": zeros for i in range(50)}), bomb, compression="zstd")
        print(f"file: {bomb.stat().st_size / 1024**2:.1f} MB, 5,000,000 rows × 50 int64 columns")
        out = subprocess.run([sys.executable, "-c", ROUTE, str(bomb)], cwd=root, env=env, capture_output=True,
                             text=True, timeout=1200)
        route = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"upload route: {route['seconds']:.1f} s, peak RSS {route['peak_kb'] / 1024:,.0f} MB (before the "
              f"request {route['before_kb'] / 1024:,.0f} MB, after it {route['after_kb'] / 1024:,.0f} MB), "
              f"{route['cache_bytes'] / 1024**2:,.0f} MB written to the cache; answer: "
              f"{route['answer'].get('error') or route['answer']}")
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "auditapp.cli", "audit", "--data", str(bomb), "--target",
                                  "c0", "--prediction", "c1", "--sensitive", "c2"], cwd=root,
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        with child.stderr:
            err = child.stderr.read()
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        print(f"auditapp audit --data: {time.perf_counter() - start:.1f} s, exit {child.returncode}, peak RSS "
              f"{usage.ru_maxrss / 1024:,.0f} MB; {err.strip()[:200]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
