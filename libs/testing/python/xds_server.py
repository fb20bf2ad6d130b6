"""A gRPC C-core xDS server (grpc.server(..., xds=True)) serving the Echo method the client driver calls.

Run with Debian's interpreter (/usr/bin/python3, package python3-grpcio) and GRPC_XDS_BOOTSTRAP
pointing at a bootstrap with `server_listener_resource_name_template`. The server asks the control
plane for its Listener (the template with %s = the bound IP:PORT) and serves as that Listener says:
plaintext or mTLS (bootstrap certificate providers), RBAC, routes.

Usage: xds_server.py IP:PORT NAME
Writes {"ready": true, "grpc": "<version>"} once started, then serves until stdin closes.
Echo (/keel.demo.v1.Echo/Call): replies field 1 = NAME, field 2 = the request's field 1, except
that the message "peer?" is answered with the caller's identity as gRPC sees it ("plaintext" or
"tls <SPIFFE URI SANs>"). Messages are encoded by hand: no generated stubs are needed.
"""

import json
import sys
from concurrent.futures import ThreadPoolExecutor

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


def _field(num, text):
    data = text.encode("utf-8")
    return bytes([num << 3 | 2]) + _varint(len(data)) + data


def _first_string(buf):
    """Field 1 of a flat message (the request's message), or ""."""
    i = 0
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
        if wire != 2:
            return ""
        n, shift = 0, 0
        while True:
            b = buf[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        if field == 1:
            return buf[i:i + n].decode("utf-8", "replace")
        i += n
    return ""


def _peer(context):
    auth = context.auth_context() or {}
    kind = b"".join(auth.get("transport_security_type", [])).decode() or "plaintext"
    if kind == "insecure":
        kind = "plaintext"
    sans = [v.decode() for v in auth.get("x509_subject_alternative_name", [])]
    return " ".join([kind] + [s for s in sans if s.startswith("spiffe://")])


class Echo(grpc.GenericRpcHandler):
    def __init__(self, name):
        self.name = name

    def service(self, details):
        if details.method != "/keel.demo.v1.Echo/Call":
            return None

        def call(request, context):
            message = _first_string(request)
            if message == "peer?":
                message = _peer(context)
            return _field(1, self.name) + _field(2, message)

        return grpc.unary_unary_rpc_method_handler(call)


def main():
    address, name = sys.argv[1], sys.argv[2]
    server = grpc.server(ThreadPoolExecutor(max_workers=4), xds=True)
    server.add_generic_rpc_handlers((Echo(name),))
    server.add_secure_port(address, grpc.xds_server_credentials(grpc.insecure_server_credentials()))
    server.start()
    sys.stdout.write(json.dumps({"ready": True, "grpc": grpc.__version__}) + "\n")
    sys.stdout.flush()
    for _ in sys.stdin:
        pass
    server.stop(0)


if __name__ == "__main__":
    main()
