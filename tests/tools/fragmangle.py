#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Rewrite a real capture holding IP fragments into a hostile variant (test data for the
passive collector's reassembly; tests/integration/t_frag.sh).

    fragmangle.py IN.pcap OUT.pcap VARIANT [--every N]

IN is a classic pcap file (microsecond or nanosecond, either byte order) on Ethernet.
Fragmented IPv4 and IPv6 datagrams are found (a datagram: family, source, destination,
protocol and ID, its fragments covering the payload exactly); in each family, every N-th of them
(the 1st, the N+1-th, ...; N = 3 by default) is mangled; everything else is copied unchanged.
A frame replaced by several frames gives them its timestamp, so time never runs backwards.

Variants (per mangled datagram, unless said otherwise):
  overlap-diff     before its last fragment, an extra fragment at offset 8, 8 bytes long, whose
                   bytes differ from the first fragment's
  overlap-same     the same, with the first fragment's own bytes
  duplicate        every fragment sent twice in a row
  reorder          its fragments in reverse order
  drop-last        the fragment with MF = 0 left out
  drop-first       the fragment at offset 0 left out
  offset-overflow  the last fragment moved to offset 65528 (offset + length > 65535)
  tiny-first       the first fragment split in 8 bytes (the UDP header alone) and the rest
  cut-udp          the first fragment replaced by a 4-byte fragment with MF = 1 (it cuts the UDP
                   header; not a multiple of 8) and the bytes from offset 8 on
  flood            not per datagram: at the start of the file, COUNT (--count, default 80)
                   copies of the first fragment of the first IPv4 and IPv6 datagram under new
                   IDs (half each), datagrams that never complete

Prints one line: "datagrams=D v4=A v6=B mangled=M frames_in=I frames_out=O" (for flood,
mangled is the number of copies). Exit 1 with a message if the input cannot be used.
Standard library only."""

import argparse
import struct
import sys

VARIANTS = ("overlap-diff", "overlap-same", "duplicate", "reorder", "drop-last", "drop-first",
            "offset-overflow", "tiny-first", "cut-udp", "flood")


def die(msg):
    print("fragmangle: " + msg, file=sys.stderr)
    sys.exit(1)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        die(path + ": too short for a pcap header")
    for endian in ("<", ">"):
        magic = struct.unpack(endian + "I", data[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        die(path + ": not a classic pcap file")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        die(path + ": link type %d, need Ethernet (1)" % linktype)
    frames = []
    pos = 24
    while pos + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(endian + "IIII", data[pos:pos + 16])
        pos += 16
        if pos + incl > len(data):
            break
        frames.append(((sec, frac), data[pos:pos + incl]))
        pos += incl
    return data[:24], endian, frames


def write_pcap(path, header, endian, frames):
    with open(path, "wb") as f:
        f.write(header)
        for (sec, frac), frame in frames:
            f.write(struct.pack(endian + "IIII", sec, frac, len(frame), len(frame)))
            f.write(frame)


def csum(hdr):
    if len(hdr) % 2:
        hdr += b"\0"
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Frag:
    """One fragment: the frame's link and IP headers as a template, its place and bytes."""

    def __init__(self, family, link, iphdr, key, ident, off, more, payload):
        self.family, self.link, self.iphdr = family, link, iphdr
        self.key, self.ident, self.off, self.more, self.payload = key, ident, off, more, payload

    def copy(self, off=None, more=None, payload=None, ident=None):
        return Frag(self.family, self.link, self.iphdr, self.key,
                    self.ident if ident is None else ident, self.off if off is None else off,
                    self.more if more is None else more,
                    self.payload if payload is None else payload)

    def frame(self):
        if self.family == 4:
            h = bytearray(self.iphdr)
            struct.pack_into("!H", h, 2, len(h) + len(self.payload))
            struct.pack_into("!H", h, 4, self.ident & 0xFFFF)
            struct.pack_into("!H", h, 6, (self.off // 8) | (0x2000 if self.more else 0))
            struct.pack_into("!H", h, 10, 0)
            struct.pack_into("!H", h, 10, csum(bytes(h)))
            return self.link + bytes(h) + self.payload
        h = bytearray(self.iphdr[:40])
        nh = self.iphdr[40]
        struct.pack_into("!H", h, 4, 8 + len(self.payload))
        fh = struct.pack("!BBHI", nh, 0, (self.off & 0xFFF8) | (1 if self.more else 0),
                         self.ident & 0xFFFFFFFF)
        return self.link + bytes(h) + fh + self.payload


def parse(frame):
    """A Frag for an IPv4 or IPv6 fragment on Ethernet, else None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    link, ip = frame[:14], frame[14:]
    if etype == 0x0800 and len(ip) >= 20:
        hlen = (ip[0] & 0x0F) * 4
        total, ident, fo = struct.unpack("!HHH", ip[2:8])
        off, more = (fo & 0x1FFF) * 8, bool(fo & 0x2000)
        if hlen < 20 or total > len(ip) or total < hlen or (off == 0 and not more):
            return None
        key = (4, ip[12:16], ip[16:20], ip[9], ident)
        return Frag(4, link, ip[:hlen], key, ident, off, more, ip[hlen:total])
    if etype == 0x86DD and len(ip) >= 48 and ip[6] == 44:
        plen = struct.unpack("!H", ip[4:6])[0]
        if 40 + plen > len(ip) or plen < 8:
            return None
        nh, _, offm, ident = struct.unpack("!BBHI", ip[40:48])
        off, more = offm & 0xFFF8, bool(offm & 1)
        if off == 0 and not more:
            return None
        key = (6, ip[8:24], ip[24:40], nh, ident)
        return Frag(6, link, ip[:40] + bytes([nh]), key, ident, off, more, ip[48:40 + plen])
    return None


def datagrams(frames):
    """Fragmented datagrams in order of first appearance: lists of (frame index, Frag) whose
    fragments cover the payload exactly once, in offset order in the file."""
    groups = {}
    order = []
    for i, (_, fr) in enumerate(frames):
        f = parse(fr)
        if f is None:
            continue
        if f.key not in groups:
            groups[f.key] = []
            order.append(f.key)
        groups[f.key].append((i, f))
    out = []
    for k in order:
        g = groups[k]
        end = 0
        ok = True
        for _, f in g:
            ok = ok and f.off == end
            end = f.off + len(f.payload)
        if ok and not g[-1][1].more and all(f.more for _, f in g[:-1]) and len(g) >= 2:
            out.append(g)
    return out


def mangle(variant, g):
    """Replacement frames (lists of Frag) for each frame index of datagram g."""
    rep = {i: [f] for i, f in g}
    first = g[0][1]
    last_i, last = g[-1]
    if variant in ("overlap-diff", "overlap-same"):
        b = first.payload[8:16]
        if variant == "overlap-diff":
            b = bytes(x ^ 0xFF for x in b)
        rep[last_i] = [first.copy(off=8, more=True, payload=b), last]
    elif variant == "duplicate":
        for i, f in g:
            rep[i] = [f, f]
    elif variant == "reorder":
        fs = [f for _, f in g]
        for j, (i, _) in enumerate(g):
            rep[i] = [fs[len(fs) - 1 - j]]
    elif variant == "drop-last":
        rep[last_i] = []
    elif variant == "drop-first":
        rep[g[0][0]] = []
    elif variant == "offset-overflow":
        rep[last_i] = [last.copy(off=65528)]
    elif variant == "tiny-first":
        rep[g[0][0]] = [first.copy(payload=first.payload[:8]),
                        first.copy(off=8, payload=first.payload[8:])]
    elif variant == "cut-udp":
        rep[g[0][0]] = [first.copy(payload=first.payload[:4]),
                        first.copy(off=8, payload=first.payload[8:])]
    return rep


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("variant", choices=VARIANTS)
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--count", type=int, default=80)
    a = ap.parse_args()
    header, endian, frames = read_pcap(a.inp)
    dgs = datagrams(frames)
    v4 = [g for g in dgs if g[0][1].family == 4]
    v6 = [g for g in dgs if g[0][1].family == 6]
    if not v4 or not v6:
        die("need fragmented IPv4 and IPv6 datagrams, found %d and %d" % (len(v4), len(v6)))
    rep = {}
    mangled = 0
    if a.variant == "flood":
        ts = frames[0][0]
        extra = []
        used = {g[0][1].key for g in dgs}
        ident = {4: 0xF000, 6: 0xF0000000}
        for n in range(a.count):
            f = (v4 if n % 2 == 0 else v6)[0][0][1]
            while (f.key[:4] + (ident[f.family],)) in used:  # never a real datagram's ID
                ident[f.family] += 1
            extra.append((ts, f.copy(ident=ident[f.family]).frame()))
            ident[f.family] += 1
        mangled = a.count
    else:
        for fam in (v4, v6):
            for j, g in enumerate(fam):
                if j % a.every == 0:
                    rep.update(mangle(a.variant, g))
                    mangled += 1
        extra = []
    out = list(extra)
    for i, (ts, fr) in enumerate(frames):
        if i in rep:
            out.extend((ts, f.frame()) for f in rep[i])
        else:
            out.append((ts, fr))
    write_pcap(a.out, header, endian, out)
    print("datagrams=%d v4=%d v6=%d mangled=%d frames_in=%d frames_out=%d" %
          (len(dgs), len(v4), len(v6), mangled, len(frames), len(out)))


if __name__ == "__main__":
    main()
