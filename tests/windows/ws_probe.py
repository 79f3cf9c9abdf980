#!/usr/bin/env python3
"""The Linux side of the windows.* tests: talks to a tenderkeyd running under Wine.

  ws_probe.py wait-health PORT SECONDS   GET /health until it answers 200 (prints the body)
  ws_probe.py refused PORT               exit 0 once nothing listens on PORT
  ws_probe.py handshake PORT ORIGIN      prints the HTTP status of a WebSocket handshake
  ws_probe.py call PORT ORIGIN METHOD    handshake, one JSON-RPC request, prints the answer
"""
import base64
import json
import os
import socket
import struct
import sys
import time


def connect(port, timeout=10):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def http_get(port, path):
    with connect(port) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     "Connection: close\r\n\r\n".encode())
        head, rest = read_head(sock)
        status = int(head.split(" ")[1])
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        while len(rest) < length:
            chunk = sock.recv(4096)
            if not chunk:
                break
            rest += chunk
        return status, rest[:length].decode()


def handshake(sock, port, origin):
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\n"
                  "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: tenderkey.v1\r\n\r\n")
                 .encode())
    head, rest = read_head(sock)
    return int(head.split(" ")[1]), rest


def send_text(sock, text):
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    else:
        header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(header + mask + masked)


def read_text(sock, buffered):
    data = buffered

    def need(n):
        nonlocal data
        while len(data) < n:
            chunk = sock.recv(4096)
            if not chunk:
                raise EOFError("connection closed")
            data += chunk

    while True:
        need(2)
        opcode = data[0] & 0x0F
        length = data[1] & 0x7F
        offset = 2
        if length == 126:
            need(4)
            length = struct.unpack(">H", data[2:4])[0]
            offset = 4
        elif length == 127:
            need(10)
            length = struct.unpack(">Q", data[2:10])[0]
            offset = 10
        need(offset + length)
        payload = data[offset:offset + length]
        data = data[offset + length:]
        if opcode == 0x1:
            return payload.decode()
        if opcode == 0x8:
            raise EOFError("closed by the server")


def main():
    command, port = sys.argv[1], int(sys.argv[2])
    if command == "wait-health":
        deadline = time.monotonic() + float(sys.argv[3])
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                status, body = http_get(port, "/health")
                if status == 200:
                    print(body)
                    return 0
                last = f"status {status}"
            except OSError as error:
                last = str(error)
            time.sleep(0.5)
        print(f"/health did not answer 200 within {sys.argv[3]} s: {last}", file=sys.stderr)
        return 1
    if command == "refused":
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                connect(port, 2).close()
            except OSError:
                return 0
            time.sleep(0.5)
        print(f"port {port} still accepts connections", file=sys.stderr)
        return 1
    if command == "handshake":
        with connect(port) as sock:
            status, _ = handshake(sock, port, sys.argv[3])
            print(status)
            return 0
    if command == "call":
        with connect(port) as sock:
            status, rest = handshake(sock, port, sys.argv[3])
            if status != 101:
                print(f"handshake refused: {status}", file=sys.stderr)
                return 1
            send_text(sock, json.dumps({"jsonrpc": "2.0", "id": 1, "method": sys.argv[4]}))
            print(read_text(sock, rest))
            return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
