"""File bytes: well-formed PNG, PDF, text and CSV content of a generated attachment."""

from __future__ import annotations

import random
import struct
import zlib

from .words import AGENT_SENTENCES, FIRST_NAMES, LAST_NAMES, REQUESTER_SENTENCES


def synthesize_file(ext: str, size: int, width: int, height: int, key: int) -> bytes:
    """Deterministic bytes of a well-formed file of the given kind, exactly ``size`` long.

    PNGs are real images (a gradient) padded with a ``tEXt`` chunk; PDFs are a one-page
    document padded with a comment before ``%%EOF``; text and CSV are readable lines.
    """
    r = random.Random(key)
    if ext == "png":
        return _png(size, min(width, 64) or 16, min(height, 48) or 12, r)
    if ext == "pdf":
        return _pdf(size, r)
    if ext == "csv":
        lines = ["id,name,amount,created_at"]
        length = len(lines[0]) + 1  # of the lines so far, each with its newline
        while length < size:
            n = len(lines)
            name = f"{r.choice(FIRST_NAMES)} {r.choice(LAST_NAMES)}"
            amount = f"{r.randint(1, 9999)}.{r.randint(0, 99):02d}"
            lines.append(f"{n},{name},{amount},2024-01-{n % 28 + 1:02d}")
            length += len(lines[-1]) + 1
        return _fit(("\n".join(lines) + "\n").encode(), size)
    sentences = REQUESTER_SENTENCES + AGENT_SENTENCES
    lines = []
    length = 0
    while length < size:
        lines.append(f"[{len(lines):05d}] {r.choice(sentences)}")
        length += len(lines[-1]) + 1
    return _fit(("\n".join(lines) + "\n").encode(), size)


def _fit(data: bytes, size: int) -> bytes:
    if len(data) >= size:
        return data[: size - 1] + b"\n" if size > 0 else b""
    return data + b" " * (size - len(data))


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def _png(size: int, width: int, height: int, r: random.Random) -> bytes:
    base_color = (r.randrange(256), r.randrange(256), r.randrange(256))
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows.extend(((base_color[0] + x * 3) % 256, (base_color[1] + y * 5) % 256, base_color[2]))
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    body = _png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
    tail = _png_chunk(b"IEND", b"")
    fixed = len(head) + len(body) + len(tail)
    pad = size - fixed - 12 - len(b"Comment\x00")
    if pad < 0:
        # too small for a gradient: a 1x1 image still makes a valid file
        return _png_small(size)
    text = _png_chunk(
        b"tEXt",
        b"Comment\x00"
        + bytes(r.choice(b"abcdefghijklmnopqrstuvwxyz ") for _ in range(min(pad, 64)))
        + b" " * max(0, pad - 64),
    )
    return head + body + text + tail


def _png_small(size: int) -> bytes:
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    body = _png_chunk(b"IDAT", zlib.compress(b"\x00\x80\x80\x80"))
    tail = _png_chunk(b"IEND", b"")
    pad = size - len(head) - len(body) - len(tail) - 12
    if pad < 0:
        return (head + body + tail)[:size]
    return head + body + _png_chunk(b"tEXt", b"C\x00" + b" " * (pad - 2) if pad >= 2 else b" " * pad) + tail


def _pdf(size: int, r: random.Random) -> bytes:
    text = f"Invoice {r.randint(1000, 9999)} - total {r.randint(10, 999)}.00 EUR"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = f"BT /F1 18 Tf 72 770 Td ({text}) Tj ET".encode()
    objects[3] = b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        assert obj is not None
        out += f"{n} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n".encode()
    end = b"%%EOF\n"
    pad = size - len(out) - len(end)
    if pad >= 2:
        out += b"%" + b"x" * (pad - 2) + b"\n"
    elif pad > 0:
        out += b"\n" * pad
    out += end
    return bytes(out[:size]) if len(out) > size else bytes(out)
