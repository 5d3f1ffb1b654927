#!/usr/bin/env python3
"""A local policy decision point: the real OPA engine (rego v1, from the PyPI wheel
opa-golib-python-bindings) behind the subset of OPA's REST API the fleet uses, so the Dispatcher
talks to it exactly as to an OPA sidecar in production.

    GET  /health                      200 {} once ready
    PUT  /v1/policies/<id>            body: a Rego module (text); replaces the module <id>
    GET  /v1/policies                 {"result": [{"id": ...}, ...]}
    DELETE /v1/policies/<id>
    PUT  /v1/data/<path>              body: JSON; replaces the document at data.<path>
    GET  /v1/data/<path>              {"result": value} (no "result" when undefined)
    POST /v1/data/<path>              body: {"input": ...}; evaluates data.<path>

Usage: opa_server.py --port 8281 [--policies DIR] [--lib DIR]
"""

import argparse
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


def load_engine_class(lib_dir):
    if lib_dir:
        sys.path.insert(0, lib_dir)
    from opa_bindings import OpaEngine, OpaError, OpaUndefinedError  # noqa: E402

    return OpaEngine, OpaError, OpaUndefinedError


IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def rego_ref(path):
    """The reference under data for URL path segments, as OPA's REST API reads them: a segment
    that is not an identifier (a tenant or marker id with a dash) is a quoted key."""
    ref = ""
    for part in path:
        if IDENTIFIER.match(part):
            ref += ("." if ref else "") + part
        else:
            ref += "[" + json.dumps(part) + "]"
    return ref


class Store:
    """Policies and data; the engine is rebuilt on every change (changes are rare, evals hot)."""

    def __init__(self, engine_class, error_class, undefined_class):
        self.engine_class = engine_class
        self.error_class = error_class
        self.undefined_class = undefined_class
        self.policies = {}
        self.data = {}
        self.lock = threading.Lock()
        self.engine = engine_class()

    def rebuild(self, policies, data):
        engine = self.engine_class()
        for module_id, source in sorted(policies.items()):
            engine.add_policy(module_id, source)
        if data:
            engine.add_data(data)
        # The old engine is released when the last evaluation using it finishes (its __del__
        # closes it); closing it here would fail evaluations running on other threads.
        self.engine, self.policies, self.data = engine, policies, data

    def put_policy(self, module_id, source):
        with self.lock:
            policies = dict(self.policies)
            policies[module_id] = source
            self.rebuild(policies, self.data)

    def delete_policy(self, module_id):
        with self.lock:
            policies = dict(self.policies)
            if policies.pop(module_id, None) is None:
                return False
            self.rebuild(policies, self.data)
            return True

    def put_data(self, path, value):
        with self.lock:
            if not path:
                if not isinstance(value, dict):
                    raise ValueError("the root document must be an object")
                data = value
            else:
                # Copied along the path only: a put costs its path, not the whole store, and the
                # documents an evaluation on another thread started with are left as they were.
                data = dict(self.data)
                node = data
                for part in path[:-1]:
                    child = node.get(part)
                    child = dict(child) if isinstance(child, dict) else {}
                    node[part] = child
                    node = child
                node[path[-1]] = value
            self.rebuild(self.policies, data)

    def evaluate(self, path, input_value):
        engine = self.engine
        try:
            return True, engine.eval_document(rego_ref(path), input_value)
        except self.undefined_class:
            return False, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store = None

    def log_message(self, format, *args):  # quiet: one line per request is too much
        pass

    def reply(self, status, body=None):
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def error(self, status, code, message):
        self.reply(status, {"code": code, "message": message})

    def route(self):
        path = self.path.split("?", 1)[0].strip("/")
        return [unquote(part) for part in path.split("/")] if path else []

    def do_GET(self):
        parts = self.route()
        if parts == ["health"]:
            return self.reply(200, {})
        if parts[:2] == ["v1", "policies"]:
            return self.reply(200, {"result": [{"id": key} for key in sorted(self.store.policies)]})
        if parts[:2] == ["v1", "data"]:
            return self.evaluate(parts[2:], None)
        self.error(404, "resource_not_found", "unknown path")

    def do_POST(self):
        parts = self.route()
        if parts[:2] != ["v1", "data"]:
            return self.error(404, "resource_not_found", "unknown path")
        raw = self.body()
        try:
            document = json.loads(raw) if raw else {}
        except ValueError as error:
            return self.error(400, "invalid_parameter", f"body is not JSON: {error}")
        if not isinstance(document, dict):
            return self.error(400, "invalid_parameter", "body must be an object with an 'input' key")
        self.evaluate(parts[2:], document.get("input"))

    def do_PUT(self):
        parts = self.route()
        raw = self.body()
        try:
            if parts[:2] == ["v1", "policies"] and len(parts) >= 3:
                self.store.put_policy("/".join(parts[2:]), raw.decode())
                return self.reply(200, {})
            if parts[:2] == ["v1", "data"]:
                self.store.put_data(parts[2:], json.loads(raw) if raw else None)
                return self.send_no_content()
        except self.store.error_class as error:
            return self.error(400, "invalid_parameter", str(error))
        except ValueError as error:
            return self.error(400, "invalid_parameter", str(error))
        self.error(404, "resource_not_found", "unknown path")

    def do_DELETE(self):
        parts = self.route()
        if parts[:2] == ["v1", "policies"] and len(parts) >= 3:
            if self.store.delete_policy("/".join(parts[2:])):
                return self.reply(200, {})
            return self.error(404, "resource_not_found", "no such policy")
        self.error(404, "resource_not_found", "unknown path")

    def send_no_content(self):
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def evaluate(self, path, input_value):
        try:
            defined, value = self.store.evaluate(path, input_value)
        except self.store.error_class as error:
            return self.error(500, "internal_error", str(error))
        self.reply(200, {"result": value} if defined else {})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8181)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--lib", help="directory holding the opa_bindings package")
    parser.add_argument("--policies", help="load every .rego file under this directory at start")
    args = parser.parse_args()
    engine_class, error_class, undefined_class = load_engine_class(args.lib)
    store = Store(engine_class, error_class, undefined_class)
    if args.policies:
        import pathlib

        modules = {str(p.relative_to(args.policies)): p.read_text() for p in pathlib.Path(args.policies).rglob("*.rego")
                   if not p.name.endswith("_test.rego")}
        store.rebuild(modules, {})
    Handler.store = store
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"policy engine listening on {args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
