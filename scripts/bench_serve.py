#!/usr/bin/env python3
"""Load client for scripts/bench_serve: uploads over loopback to `evault serve`.

  bench_serve.py photos URL TOKEN SRC CLIENTS   -> JSON {seconds, photos, latencies_ms}
  bench_serve.py videos URL TOKEN MB CLIENTS    -> JSON {seconds, bytes}

Photos: every file under SRC/<order>/, shared among CLIENTS threads, each
POSTed with its SHA-256 (computed before the clock starts, as a device does)
and an idempotency key; each must be answered 201. The latency of one upload
is the time from handing its last byte to the socket to reading the answer.
Videos: CLIENTS threads each stream MB MiB of pseudo-random bytes as one
packing-video upload (no Content-Length: chunked), to measure server memory.
"""
import hashlib
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
import uuid


def connect(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=600)


def post(conn, path, headers, body):
    """Sends one request; returns (status, answer, seconds from last byte to answer)."""
    conn.putrequest("POST", path)
    for k, v in headers.items():
        conn.putheader(k, v)
    if isinstance(body, bytes):
        conn.putheader("content-length", str(len(body)))
        conn.endheaders()
        conn.send(body)
    else:
        conn.putheader("transfer-encoding", "chunked")
        conn.endheaders()
        for chunk in body:
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    sent = time.perf_counter()
    r = conn.getresponse()
    data = r.read()
    return r.status, data, time.perf_counter() - sent


def photos(url, token, src, clients):
    files = []
    for order in sorted(os.listdir(src)):
        d = os.path.join(src, order)
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    data = f.read()
                files.append((order, name, data, hashlib.sha256(data).hexdigest()))
    lock = threading.Lock()
    latencies, errors = [], []

    def work():
        conn = connect(url)
        while True:
            with lock:
                if not files:
                    break
                order, name, data, sha = files.pop()
            headers = {
                "authorization": f"Bearer {token}",
                "x-evault-name": urllib.parse.quote(name),
                "x-evault-kind": "packing-photo",
                "x-evault-device-sha256": sha,
                "idempotency-key": str(uuid.uuid4()),
            }
            status, answer, latency = post(conn, f"/api/v1/orders/{urllib.parse.quote(order)}/evidence", headers, data)
            with lock:
                if status != 201:
                    errors.append(f"{order}/{name}: {status} {answer[:200]!r}")
                latencies.append(latency * 1000)

    count = len(files)
    threads = [threading.Thread(target=work) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    if errors:
        sys.exit("uploads failed:\n" + "\n".join(errors[:10]))
    print(json.dumps({"seconds": seconds, "photos": count, "latencies_ms": sorted(latencies)}))


def videos(url, token, mb, clients):
    block = os.urandom(1 << 20)

    def body(seed):
        for i in range(mb):
            # Each MiB differs, so no two videos share bytes.
            yield hashlib.sha256(b"%d-%d" % (seed, i)).digest() + block[32:]

    errors = []

    def work(n):
        conn = connect(url)
        headers = {"authorization": f"Bearer {token}", "x-evault-name": f"video-{n}.webm", "x-evault-kind": "packing-video"}
        status, answer, _ = post(conn, f"/api/v1/orders/SO-VIDEO-{n}/evidence", headers, body(n))
        if status != 201:
            errors.append(f"video {n}: {status} {answer[:200]!r}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit("uploads failed:\n" + "\n".join(errors))
    print(json.dumps({"seconds": time.perf_counter() - t0, "bytes": mb * clients << 20}))


if __name__ == "__main__":
    mode, url, token = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "photos":
        photos(url, token, sys.argv[4], int(sys.argv[5]))
    else:
        videos(url, token, int(sys.argv[4]), int(sys.argv[5]))
