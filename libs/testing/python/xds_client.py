"""A long-running gRPC C-core xDS client driven line by line (JSON) over stdin/stdout.

Run with Debian's interpreter (/usr/bin/python3, package python3-grpcio) and GRPC_XDS_BOOTSTRAP
pointing at a bootstrap file. Channels are created once per target and kept for the process's
life, so a test sees how one client recovers from whatever the control plane does.

Requests (one JSON object a line):
  {"id": 1, "op": "call", "target": "xds:///host:port", "method": "/keel.demo.v1.Echo/Call",
   "message": "hi", "metadata": {"k": "v"}, "timeout": 5.0}
  {"id": 2, "op": "state", "target": "xds:///host:port"}   -> {"id": 2, "state": "READY"}
  {"op": "quit"}
Replies: {"id": 1, "ok": true, "server": "reviews-v1", "message": "hi"} or
         {"id": 1, "ok": false, "code": 14, "codeName": "UNAVAILABLE", "details": "..."}.
The first line written is {"ready": true, "grpc": "<version>"}.
Echo messages are encoded by hand (field 1 and 2 strings): no generated stubs are needed.
"""

import json
import sys

import grpc


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode_echo_request(message):
    data = message.encode("utf-8")
    return b"\x0a" + _varint(len(data)) + data if data else b""


def decode_strings(buf):
    """Every length-delimited field of a flat message, by field number, as text."""
    fields, i = {}, 0
    while i < len(buf):
        key, shift = 0, 0
        while True:
            b = buf[i]
            i += 1
            key |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        field, wire = key >> 3, key & 7
        if wire == 2:
            n, shift = 0, 0
            while True:
                b = buf[i]
                i += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
            fields[field] = buf[i:i + n].decode("utf-8", "replace")
            i += n
        elif wire == 0:
            while buf[i] & 0x80:
                i += 1
            i += 1
        else:
            raise ValueError("unexpected wire type %d" % wire)
    return fields


STATE_NAMES = {
    grpc.ChannelConnectivity.IDLE: "IDLE",
    grpc.ChannelConnectivity.CONNECTING: "CONNECTING",
    grpc.ChannelConnectivity.READY: "READY",
    grpc.ChannelConnectivity.TRANSIENT_FAILURE: "TRANSIENT_FAILURE",
    grpc.ChannelConnectivity.SHUTDOWN: "SHUTDOWN",
}


class Driver:
    def __init__(self):
        self.channels = {}
        self.states = {}

    def channel(self, target):
        ch = self.channels.get(target)
        if ch is None:
            ch = grpc.insecure_channel(target)
            self.channels[target] = ch
            ch.subscribe(lambda s, t=target: self.states.__setitem__(t, STATE_NAMES.get(s, str(s))))
        return ch

    def call(self, req):
        ch = self.channel(req["target"])
        method = req.get("method", "/keel.demo.v1.Echo/Call")
        stub = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
        metadata = tuple((k, v) for k, v in (req.get("metadata") or {}).items())
        try:
            raw = stub(
                encode_echo_request(req.get("message", "hello")),
                timeout=float(req.get("timeout", 5.0)),
                metadata=metadata or None,
            )
        except grpc.RpcError as err:
            code = err.code()
            return {
                "ok": False,
                "code": code.value[0],
                "codeName": code.name,
                "details": (err.details() or "")[:300],
            }
        fields = decode_strings(raw)
        return {"ok": True, "server": fields.get(1, ""), "message": fields.get(2, "")}

    def handle(self, req):
        op = req.get("op")
        if op == "call":
            return self.call(req)
        if op == "state":
            self.channel(req["target"])
            return {"state": self.states.get(req["target"], "IDLE")}
        return {"error": "unknown op %r" % op}


def main():
    driver = Driver()
    out = sys.stdout
    out.write(json.dumps({"ready": True, "grpc": grpc.__version__}) + "\n")
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError as err:
            out.write(json.dumps({"error": "bad request: %s" % err}) + "\n")
            out.flush()
            continue
        if req.get("op") == "quit":
            break
        try:
            reply = driver.handle(req)
        except Exception as err:  # reported to the test, never fatal to the client
            reply = {"error": repr(err)[:300]}
        reply["id"] = req.get("id")
        out.write(json.dumps(reply) + "\n")
        out.flush()
    for ch in driver.channels.values():
        ch.close()


if __name__ == "__main__":
    main()
