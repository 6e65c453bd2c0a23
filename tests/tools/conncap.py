#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The connection cap of obs-web (reliability-targets G4): open N connections that each send
an unfinished request, then GET PATH at once (expected: over the cap) and again after WAIT
seconds (expected: the sweep has shed the oldest connections). Prints one JSON line with
each reply's status, Retry-After and Connection headers and JSON body.
Usage: conncap.py HOST PORT N WAIT PATH"""
import http.client
import json
import socket
import sys
import time

host, port, n, wait, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
held = []
for _ in range(n):
    s = socket.create_connection((host, port), timeout=2)
    s.send(b"GET /api/v1 HTTP/1.1\r\nHost: localhost\r\n")
    held.append(s)
time.sleep(0.3)


def get():
    try:
        c = http.client.HTTPConnection(host, port, timeout=5)
        c.request("GET", path, headers={"Host": "localhost"})
        r = c.getresponse()
        body = r.read()
        c.close()
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        return {"status": r.status, "retry_after": r.getheader("Retry-After"),
                "connection": r.getheader("Connection"), "body": doc}
    except OSError as e:
        return {"status": type(e).__name__}


first = get()
time.sleep(wait)
second = get()
closed = 0
for s in held:
    try:
        s.setblocking(False)
        closed += 1 if s.recv(1) == b"" else 0
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
    s.close()
print(json.dumps({"first": first, "second": second, "held": n, "shed_seen": closed}))
