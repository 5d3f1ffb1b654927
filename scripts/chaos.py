#!/usr/bin/env python3
"""Fault injection against a whole local fleet (run it through scripts/chaos, which passes the ports).

Starts Redis, PostgreSQL and the OPA engine (scripts/services, instance "chaos", var/chaos wiped
first), a dev OIDC issuer, one Dispatcher and two Workers processes; puts the gateway under steady
load (noop jobs with Idempotency-Key, a third sleeping 200 ms so jobs are mid-run; a 503, 429 or
connection error is retried with the same key, each attempt with its own X-Request-Id); injects
one fault per scenario; lets the load run on until the gateway answers 202 only again; drains the
queue and checks:

  stuck / missing           every 202's job is succeeded, dead, failed or cancelled (GET /v1/jobs/{id}
                            as its submitter); missing = 404 (counted in stuck too)
  duplicate/missing_terminal_audit
                            exactly one audit entry of the type of its final state (job.succeeded,
                            job.dead_lettered, ...); a replayed job may have one per dead-lettering
  allowed_without_job       every allowed policy_decision's job_id has lifecycle entries (the job
                            ran) or a job.not_queued entry
  replayed ... audit        a replayed dead letter that ran again wrote audit entries after the replay
  chain_intact              Dispatcher audit verify --tenant T exits 0
  statuses                  only documented 4xx and 503; connection errors only while the Dispatcher
                            is down (or during the fault); no 503 later than --recovery-grace after it

Each scenario has its own two tenants (<scenario>-a, <scenario>-b), so every count is that
scenario's alone. One JSON object per scenario on stdout, progress on stderr; exit status 1 when
any scenario is not ok, 2 when the harness itself failed. Standard library only, plus the psql and
redis-cli binaries.
"""

import argparse
import collections
import glob
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VAR = os.path.join(ROOT, "var", "chaos")
SCENARIOS = ["worker-kill", "dispatcher-kill", "policy-kill", "redis-kill", "postgres-kill", "worker-term", "poison-replay"]
TERMINAL = {"succeeded", "dead", "failed", "cancelled"}
TERMINAL_AUDIT = {"succeeded": "job.succeeded", "dead": "job.dead_lettered", "failed": "job.failed", "cancelled": "job.cancelled"}
# Lifecycle entries that prove a job existed on the queue (a worker picked it up).
JOB_EVIDENCE = {"job.started", "job.succeeded", "job.dead_lettered", "job.failed", "job.retried", "job.cancelled"}
CONN_ERRORS = (OSError, http.client.HTTPException)
T0 = time.time()


def log(message):
    print(f"[chaos +{time.time() - T0:6.1f}s] {message}", file=sys.stderr, flush=True)


class HarnessError(Exception):
    """The harness could not do its part (not a finding about the fleet)."""


def run(args, timeout=60, env=None, check=True, quiet=False):
    """Runs a command with a bound; returns CompletedProcess (text)."""
    try:
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise HarnessError(f"{' '.join(args[:4])} did not finish within {timeout} s") from error
    if check and done.returncode != 0:
        raise HarnessError(f"{' '.join(args[:4])} exited {done.returncode}: {(done.stderr or done.stdout).strip()[-800:]}")
    if not quiet and done.stderr.strip():
        for line in done.stderr.strip().splitlines()[-3:]:
            log(f"  {line}")
    return done


def error_kind(error):
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, ConnectionAbortedError)):
        return "reset"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timeout"
    return type(error).__name__


class Client:
    """One keep-alive HTTP/1.1 connection (reopened after any error)."""

    def __init__(self, port, timeout=10.0):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def request(self, method, path, body=None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
            if (response.getheader("Connection") or "").lower() == "close":
                self.close()
            return response.status, data, response
        except CONN_ERRORS:
            self.close()
            raise


def problem_type(data):
    try:
        kind = json.loads(data).get("type", "")
        return kind.rsplit("/", 1)[-1] if kind else ""
    except Exception:
        return ""


def kill_leftovers(path):
    """Kills fleet processes a previous run left behind: only pids whose executable is still the
    one recorded (a pid may have been reused since)."""
    if not os.path.exists(path):
        return
    for line in open(path):
        try:
            pid, binary = line.split(maxsplit=1)
            with open(f"/proc/{int(pid)}/cmdline", "rb") as cmdline:
                if cmdline.read().split(b"\0")[0].decode() != binary.strip():
                    continue
            os.kill(int(pid), signal.SIGKILL)
            log(f"killed pid {pid} ({binary.strip()}) left over from an earlier run")
        except (ValueError, OSError):
            pass
    os.remove(path)


# --------------------------------------------------------------------------------------------
# The fleet


class Fleet:
    def __init__(self, options):
        self.o = options
        self.bin = options.bin
        self.procs = {}  # name -> Popen
        self.starts = collections.Counter()
        self.expected_exit = set()  # names we stopped on purpose
        self.tokens = {}  # (tenant, user) -> token
        self.lock = threading.Lock()
        self.redis_url = f"redis://127.0.0.1:{options.redis_port}/0"
        self.database_url = f"postgres://openclaw_app@127.0.0.1:{options.pg_port}/openclaw"
        self.admin_url = f"postgres://postgres@127.0.0.1:{options.pg_port}/openclaw"
        self.issuer = f"http://127.0.0.1:{options.issuer_port}"
        self.env = dict(os.environ)
        self.env.update(
            {
                "OC_REDIS_URL": self.redis_url,
                "OC_DATABASE_URL": self.database_url,
                "OC_DATABASE_ADMIN_URL": self.admin_url,
                "OC_OPA_URL": f"http://127.0.0.1:{options.opa_port}",
                "OC_OIDC_ISSUER": self.issuer,
                "OC_OIDC_AUDIENCE": "openclaw",
                "OC_HOST": "127.0.0.1",
                "OC_PORT": str(options.http_port),
                "OC_LOG_LEVEL": os.environ.get("OC_LOG_LEVEL", "info"),
                # Admissions a killed Dispatcher left unconfirmed are reconciled this soon.
                "OC_ADMISSION_GRACE_SECONDS": str(ADMISSION_GRACE),
            }
        )
        self.logs = os.path.join(VAR, "logs")

    # -- processes ----------------------------------------------------------------------------

    def dispatcher(self, *args, timeout=60, check=True):
        return run([os.path.join(self.bin, "Dispatcher"), *args], timeout=timeout, env=self.env, check=check, quiet=True)

    def services(self, action):
        done = run([os.path.join(ROOT, "scripts", "services"), action, "chaos"], timeout=120, check=False, quiet=True)
        for line in (done.stderr or "").strip().splitlines():
            log(f"  {line}")
        if done.returncode != 0:
            raise HarnessError(f"scripts/services {action} chaos exited {done.returncode}")

    def command_for(self, name):
        if name == "issuer":
            return [os.path.join(self.bin, "Dispatcher"), "dev-issuer", "serve", "--directory", os.path.join(VAR, "oidc"), "--issuer", self.issuer]
        if name == "dispatcher":
            return [os.path.join(self.bin, "Dispatcher"), "serve"]
        if name in ("worker-1", "worker-2"):
            port = self.o.metrics_port + (0 if name == "worker-1" else 1)
            return [
                os.path.join(self.bin, "Workers"), "--kinds", "noop", "--concurrency", "32", "--database-url", self.database_url,
                "--redis-url", self.redis_url, "--metrics-port", str(port),
                "--visibility-timeout-ms", str(self.o.visibility_timeout_ms), "--grace-seconds", str(self.o.grace_seconds),
            ]
        raise ValueError(name)

    def start(self, name):
        self.starts[name] += 1
        path = os.path.join(self.logs, f"{name}.{self.starts[name]}.log")
        handle = open(path, "w")
        proc = subprocess.Popen(self.command_for(name), cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        handle.close()
        self.procs[name] = proc
        self.expected_exit.discard(name)
        self.write_pids()
        return proc

    def write_pids(self):
        """The fleet's pids and binaries, for scripts/chaos to clean up after a harness that died."""
        with open(os.path.join(VAR, "fleet.pids"), "w") as out:
            for proc in self.procs.values():
                if proc.poll() is None:
                    out.write(f"{proc.pid} {proc.args[0]}\n")

    def signal(self, name, sig):
        self.expected_exit.add(name)
        proc = self.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, sig)

    def wait_exit(self, name, timeout):
        try:
            return self.procs[name].wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def unexpected_exits(self):
        """Fleet processes that died without being told to (crashes), restarted."""
        found = []
        for name, proc in list(self.procs.items()):
            code = proc.poll()
            if code is not None and name not in self.expected_exit:
                found.append(f"{name} (pid {proc.pid}) exited on its own with status {code}; see var/chaos/logs/{name}.{self.starts[name]}.log")
                log(f"{name} died on its own (status {code}); restarting it")
                self.start(name)
        return found

    def stop_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 8
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)
                except Exception:
                    pass
        try:
            os.remove(os.path.join(VAR, "fleet.pids"))
        except FileNotFoundError:
            pass

    # -- readiness ----------------------------------------------------------------------------

    def http_status(self, path, port=None, timeout=2.0):
        try:
            status, _, _ = Client(port or self.o.http_port, timeout=timeout).request("GET", path)
            return status
        except CONN_ERRORS:
            return None

    def wait_for(self, what, predicate, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return True
            time.sleep(0.1)
        raise HarnessError(f"{what} within {timeout} s")

    def listening(self):
        return self.http_status("/healthz") is not None

    def ready(self):
        return self.http_status("/readyz") == 200

    def worker_in_flight(self, name):
        port = self.o.metrics_port + (0 if name == "worker-1" else 1)
        try:
            status, data, _ = Client(port, timeout=2).request("GET", "/metrics")
        except CONN_ERRORS:
            return 0
        total = 0.0
        for line in data.decode(errors="replace").splitlines():
            if line.startswith("oc_jobs_in_flight"):
                try:
                    total += float(line.rsplit(" ", 1)[1])
                except ValueError:
                    pass
        return total

    # -- setup --------------------------------------------------------------------------------

    def setup(self, tenants):
        log("fresh chaos instance: stopping anything left over and wiping var/chaos")
        self.services("stop")
        kill_leftovers(os.path.join(VAR, "fleet.pids"))
        shutil.rmtree(VAR, ignore_errors=True)
        os.makedirs(self.logs, exist_ok=True)
        self.services("start")
        self.dispatcher("migrate")
        for tenant in tenants:
            self.dispatcher("tenant", "create", tenant)
        log(f"migrated; {len(tenants)} tenants created")
        self.start("issuer")
        self.wait_for("the dev OIDC issuer did not answer", lambda: self.http_status("/.well-known/openid-configuration", self.o.issuer_port) == 200, 30)
        self.start("dispatcher")
        self.wait_for("the Dispatcher did not become ready", self.ready, 60)
        self.start("worker-1")
        self.start("worker-2")
        for tenant in tenants:
            self.tokens[(tenant, "admin")] = self.token(tenant, "admin", "enterprise_admin")
            for index in range(self.o.users):
                user = f"u{index + 1}"
                self.tokens[(tenant, user)] = self.token(tenant, user, "user")
        client = Client(self.o.http_port)
        policy = json.dumps(
            {"content": {"default": {"autonomy": "block"}, "noop.run": {"autonomy": "autonomous"}}, "change_reason": "chaos suite"}
        )
        for tenant in tenants:
            status, data, _ = client.request(
                "PUT", "/v1/policies/enterprise/*/actions", policy,
                {"Authorization": f"Bearer {self.tokens[(tenant, 'admin')]}", "Content-Type": "application/json"},
            )
            if status not in (200, 201):
                raise HarnessError(f"policy for {tenant}: {status} {data[:300]!r}")
        # Wait until every tenant's policy is loaded: a probe job is admitted (it runs like any other).
        for tenant in tenants:
            deadline = time.time() + 30
            while True:
                status, data, _ = client.request(
                    "POST", "/v1/jobs", json.dumps({"kind": "noop", "action": "noop.run", "payload": {}}),
                    {"Authorization": f"Bearer {self.tokens[(tenant, 'u1')]}", "Content-Type": "application/json",
                     "X-Request-Id": f"probe-{tenant}-{int(time.time() * 1000)}"},
                )
                if status == 202:
                    break
                if time.time() > deadline:
                    raise HarnessError(f"tenant {tenant}: policy not in force after 30 s ({status} {data[:200]!r})")
                time.sleep(0.5)
        client.close()
        self.wait_for("the workers did not report healthy", lambda: all(
            self.http_status("/healthz", self.o.metrics_port + i) == 200 for i in (0, 1)), 30)
        log("fleet up: issuer, Dispatcher, 2 workers; policies in force")

    def token(self, tenant, user, roles):
        done = self.dispatcher(
            "dev-issuer", "token", "--directory", os.path.join(VAR, "oidc"), "--issuer", self.issuer, "--tenant", tenant,
            "--user", user, "--roles", roles, "--lifetime", "7200",
        )
        return done.stdout.strip()

    # -- infrastructure faults ----------------------------------------------------------------

    def redis_pid(self):
        return int(open(os.path.join(VAR, "redis", "redis.pid")).read().strip())

    def opa_pid(self):
        return int(open(os.path.join(VAR, "opa", "opa.pid")).read().strip())

    def redis_up(self):
        return run(["redis-cli", "-p", str(self.o.redis_port), "ping"], timeout=5, check=False, quiet=True).stdout.strip() == "PONG"

    def opa_up(self):
        return self.http_status("/health", self.o.opa_port) == 200

    def pg_up(self):
        done = run(["psql", "-h", "127.0.0.1", "-p", str(self.o.pg_port), "-U", "postgres", "-d", "openclaw", "-tAc", "SELECT 1"],
                   timeout=10, check=False, quiet=True)
        return done.stdout.strip() == "1"

    def pg_ctl(self, *args):
        found = shutil.which("pg_ctl") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)), None)
        if not found:
            raise HarnessError("pg_ctl not found")
        command = [found, "-D", os.path.join(VAR, "pg", "data"), *args]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return run(command, timeout=60, check=False, quiet=True)

    # -- queries ------------------------------------------------------------------------------

    def psql(self, sql):
        done = run(["psql", "-h", "127.0.0.1", "-p", str(self.o.pg_port), "-U", "postgres", "-d", "openclaw", "-v", "ON_ERROR_STOP=1",
                    "-tA", "-F", "\t", "-c", sql], timeout=60, quiet=True)
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    def queue_stats(self, tenant):
        done = self.dispatcher("queue", "stats", "--tenant", tenant, "--redis-url", self.redis_url, timeout=20, check=False)
        if done.returncode != 0:
            return None
        try:
            return json.loads(done.stdout).get("noop")
        except json.JSONDecodeError:
            return None


# --------------------------------------------------------------------------------------------
# Load


class Load:
    """Threads POSTing noop jobs with Idempotency-Key; a failed submission (503, 429, connection
    error) is retried with the same key, as a client should, until it is answered or the load
    stops. Every attempt carries its own X-Request-Id, so audit entries map back to attempts."""

    def __init__(self, fleet, scenario, tenants, mix):
        self.fleet = fleet
        self.scenario = scenario
        self.tenants = tenants
        self.mix = mix  # list of (weight, payload)
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.threads = []
        self.attempts = []  # (t, tenant, user, key, request_id, status or None, problem or error kind)
        self.by_request = {}  # request_id -> index into attempts
        self.accepted = {}  # job id -> (tenant, user, key, payload)
        self.key_to_id = {}
        self.idempotency_conflicts = []
        self.abandoned = 0
        self.submissions = 0
        self.seq = 0

    def start(self, mix=None):
        if mix is not None:
            self.mix = mix
        self.stop_flag.clear()
        self.threads = []
        for tenant in self.tenants:
            for index in range(self.fleet.o.users):
                thread = threading.Thread(target=self.loop, args=(tenant, f"u{index + 1}"), daemon=True)
                thread.start()
                self.threads.append(thread)

    def stop(self):
        self.stop_flag.set()
        for thread in self.threads:
            thread.join(timeout=15)
        alive = [t for t in self.threads if t.is_alive()]
        if alive:
            raise HarnessError(f"{len(alive)} load threads did not stop")

    def pick(self, rng):
        total = sum(weight for weight, _ in self.mix)
        roll = rng.uniform(0, total)
        for weight, payload in self.mix:
            roll -= weight
            if roll <= 0:
                return payload
        return self.mix[-1][1]

    def loop(self, tenant, user):
        rng = random.Random(hash((tenant, user, time.time())))
        client = Client(self.fleet.o.http_port, timeout=self.fleet.o.request_timeout)
        token = self.fleet.tokens[(tenant, user)]
        while not self.stop_flag.is_set():
            with self.lock:
                self.seq += 1
                self.submissions += 1
                seq = self.seq
            key = f"{self.scenario}-{user}-{seq}"
            payload = self.pick(rng)
            self.submit(client, tenant, user, token, key, payload)
            time.sleep(self.fleet.o.pace)
        client.close()

    def submit(self, client, tenant, user, token, key, payload):
        body = json.dumps({"kind": "noop", "action": "noop.run", "payload": payload})
        attempt = 0
        while True:
            attempt += 1
            request_id = f"{key}.{attempt}"
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": key,
                       "X-Request-Id": request_id}
            status, detail, retry = None, "", False
            try:
                status, data, _ = client.request("POST", "/v1/jobs", body, headers)
                if status == 202:
                    answer = json.loads(data)
                    job = answer.get("id")
                    with self.lock:
                        earlier = self.key_to_id.get(key)
                        if earlier and earlier != job:
                            self.idempotency_conflicts.append(f"key {key}: first 202 had job {earlier}, a retry got {job}")
                        self.key_to_id.setdefault(key, job)
                        self.accepted.setdefault(job, (tenant, user, key, payload))
                    detail = "duplicate" if answer.get("duplicate") else ""
                else:
                    detail = problem_type(data)
                    retry = status in (429, 503)
            except CONN_ERRORS as error:
                detail = error_kind(error)
                retry = True
            with self.lock:
                self.by_request[request_id] = len(self.attempts)
                self.attempts.append((time.time(), tenant, user, key, request_id, status, detail))
            if not retry:
                return
            if self.stop_flag.is_set():
                with self.lock:
                    self.abandoned += 1
                return
            time.sleep(0.3)


# --------------------------------------------------------------------------------------------
# Scenarios


class Scenario:
    def __init__(self, name, tenants):
        self.name = name
        self.tenants = tenants
        self.fault_start = None
        self.fault_end = None
        self.down = []  # windows when connection errors to the gateway are expected
        self.violations = []
        self.warnings = []
        self.info = {}
        self.replayed_at = None


def in_flight_kill_point(fleet, name, timeout=5.0):
    """Waits (bounded) until the worker has jobs in flight, so the fault hits it mid-run."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fleet.worker_in_flight(name) > 0:
            return True
        time.sleep(0.05)
    return False


def fault_worker_kill(fleet, sc, load):
    busy = in_flight_kill_point(fleet, "worker-1")
    in_flight = fleet.worker_in_flight("worker-1")
    sc.fault_start = time.time()
    fleet.signal("worker-1", signal.SIGKILL)
    fleet.wait_exit("worker-1", 10)
    log(f"SIGKILLed worker-1 ({'with' if busy else 'WITHOUT'} jobs in flight: {in_flight:.0f})")
    sc.info["in_flight_at_kill"] = in_flight
    time.sleep(2)
    fleet.start("worker-1")
    fleet.wait_for("worker-1 did not come back", lambda: fleet.http_status("/healthz", fleet.o.metrics_port) == 200, 30)
    sc.fault_end = time.time()
    log("worker-1 restarted")


def fault_worker_term(fleet, sc, load):
    busy = in_flight_kill_point(fleet, "worker-1")
    in_flight = fleet.worker_in_flight("worker-1")
    sc.fault_start = time.time()
    fleet.signal("worker-1", signal.SIGTERM)
    code = fleet.wait_exit("worker-1", fleet.o.grace_seconds + 15)
    took = time.time() - sc.fault_start
    log(f"SIGTERMed worker-1 ({in_flight:.0f} in flight): exited with {code} after {took:.1f} s")
    sc.info.update({"in_flight_at_term": in_flight, "exit_status": code, "drain_seconds": round(took, 2)})
    if code is None:
        sc.violations.append(f"worker-1 did not exit within {fleet.o.grace_seconds + 15} s of SIGTERM")
        fleet.signal("worker-1", signal.SIGKILL)
        fleet.wait_exit("worker-1", 10)
    elif code != 0:
        sc.violations.append(f"worker-1 exited with status {code} after SIGTERM (documented: 0)")
    if not busy:
        sc.warnings.append("worker-1 had no job in flight when SIGTERMed")
    fleet.start("worker-1")
    fleet.wait_for("worker-1 did not come back", lambda: fleet.http_status("/healthz", fleet.o.metrics_port) == 200, 30)
    sc.fault_end = time.time()


def fault_dispatcher_kill(fleet, sc, load):
    sc.fault_start = time.time()
    fleet.signal("dispatcher", signal.SIGKILL)
    fleet.wait_exit("dispatcher", 10)
    log("SIGKILLed the Dispatcher")
    time.sleep(2)
    fleet.start("dispatcher")
    fleet.wait_for("the Dispatcher did not listen again", fleet.listening, 60)
    listening = time.time()
    sc.down.append((sc.fault_start, listening + 1.0))
    fleet.wait_for("the Dispatcher did not become ready again", fleet.ready, 60)
    sc.fault_end = time.time()
    sc.info["down_seconds"] = round(listening - sc.fault_start, 2)
    sc.info["ready_after_listening_seconds"] = round(sc.fault_end - listening, 2)
    log(f"Dispatcher back: listening after {listening - sc.fault_start:.1f} s, ready {sc.fault_end - listening:.1f} s later")


def fault_policy_kill(fleet, sc, load):
    pid = fleet.opa_pid()
    sc.fault_start = time.time()
    os.kill(pid, signal.SIGKILL)
    log(f"SIGKILLed the policy engine (pid {pid})")
    time.sleep(2)
    fleet.services("start")  # start_opa: starts the engine again when it does not answer
    fleet.wait_for("the policy engine did not answer", fleet.opa_up, 30)
    restarted = time.time()
    try:
        fleet.wait_for("the Dispatcher did not report ready", fleet.ready, 30)
    except HarnessError as error:
        sc.violations.append(f"{error} after the policy engine restart")
    sc.fault_end = restarted
    sc.info["ready_after_engine_restart_seconds"] = round(time.time() - restarted, 2)


def fault_redis_kill(fleet, sc, load):
    pid = fleet.redis_pid()
    sc.fault_start = time.time()
    os.kill(pid, signal.SIGKILL)
    log(f"SIGKILLed redis-server (pid {pid})")
    time.sleep(3)
    fleet.services("start")  # start_redis: same --dir, so the AOF is replayed
    fleet.wait_for("redis did not answer", fleet.redis_up, 30)
    sc.fault_end = time.time()
    log("redis restarted from its AOF")


def fault_postgres_kill(fleet, sc, load):
    sc.fault_start = time.time()
    done = fleet.pg_ctl("-m", "immediate", "-w", "stop")
    if done.returncode != 0:
        raise HarnessError(f"pg_ctl stop -m immediate failed: {done.stderr.strip()[-300:]}")
    log("PostgreSQL stopped (-m immediate)")
    time.sleep(3)
    fleet.services("start")
    fleet.wait_for("PostgreSQL did not answer", fleet.pg_up, 60)
    sc.fault_end = time.time()
    log("PostgreSQL restarted")


FAULTS = {
    "worker-kill": fault_worker_kill,
    "dispatcher-kill": fault_dispatcher_kill,
    "policy-kill": fault_policy_kill,
    "redis-kill": fault_redis_kill,
    "postgres-kill": fault_postgres_kill,
    "worker-term": fault_worker_term,
}

NORMAL_MIX = [(2, {}), (1, {"sleep_ms": 200})]
POISON_MIX = [(2, {}), (1, {"sleep_ms": 200}), (1, {"poison": True})]


def post_fault_load(fleet, sc, load):
    """Load goes on at least `after` seconds past the fault, then until `clean` seconds passed
    with nothing but 202s (bounded by `settle`)."""
    o = fleet.o
    hard = sc.fault_end + o.settle
    while time.time() < hard:
        now = time.time()
        with load.lock:
            last_bad = max([a[0] for a in load.attempts if a[5] != 202] + [sc.fault_end])
        if now >= sc.fault_end + o.after and now - last_bad >= o.clean:
            return
        time.sleep(0.25)
    sc.warnings.append(f"the gateway was still not answering 202 only {o.settle:.0f} s after the fault was over")


def run_poison_replay(fleet, sc, load):
    """Poison jobs dead-letter at once; replay them while normal load goes on."""
    o = fleet.o
    time.sleep(o.poison_seconds)  # load with poison running since the start
    load.stop()
    log("poison load stopped; waiting for the queue to drain")
    drain_queue(fleet, sc.tenants, o.drain_timeout)
    before = {t: (fleet.queue_stats(t) or {}).get("dead_letters") for t in sc.tenants}
    sc.info["dead_letters_before_replay"] = before
    load.start(NORMAL_MIX)
    time.sleep(1)
    sc.fault_start = time.time()
    sc.replayed_at = sc.fault_start
    replayed = {}
    for tenant in sc.tenants:
        args = [os.path.join(fleet.bin, "Dispatcher"), "dead-letters", "replay", "--tenant", tenant, "--kind", "noop"]
        env = dict(fleet.env, OC_REDIS_URL=fleet.redis_url)
        started = time.time()
        try:
            done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=o.replay_timeout)
            replayed[tenant] = done.stdout.strip()
            if done.returncode != 0:
                sc.violations.append(f"dead-letters replay --tenant {tenant} exited {done.returncode}: {done.stderr.strip()[-300:]}")
            log(f"replay {tenant}: {done.stdout.strip()} ({time.time() - started:.1f} s)")
        except subprocess.TimeoutExpired as error:
            out = (error.stdout or b"")
            replayed[tenant] = f"timed out after {o.replay_timeout} s"
            sc.violations.append(
                f"dead-letters replay --tenant {tenant} did not finish within {o.replay_timeout} s "
                f"(dead letters before: {before.get(tenant)}; it keeps replaying entries the workers dead-letter again?)"
            )
            log(f"replay {tenant}: TIMED OUT after {o.replay_timeout} s {out!r}")
    sc.info["replay_output"] = replayed
    sc.fault_end = time.time()


# --------------------------------------------------------------------------------------------
# Drain and checks


def drain_queue(fleet, tenants, timeout):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        stats = [fleet.queue_stats(t) for t in tenants]
        last = stats
        if all(s is not None and s.get("depth", 1) == 0 and s.get("pending", 1) == 0 and s.get("delayed", 1) == 0 and s.get("lag", 0) == 0
               for s in stats):
            return True, stats
        time.sleep(1)
    return False, last


def job_states(fleet, load, deadline):
    """Final state of every accepted job through GET /v1/jobs/{id} with the submitter's token;
    polls the non-terminal ones until the deadline."""
    states, bodies = {}, {}
    pending = set(load.accepted)
    client = Client(fleet.o.http_port, timeout=10)
    while True:
        for job in sorted(pending):
            tenant, user, _, _ = load.accepted[job]
            state = None
            for _ in range(5):
                try:
                    status, data, _ = client.request("GET", f"/v1/jobs/{job}", headers={"Authorization": f"Bearer {fleet.tokens[(tenant, user)]}"})
                except CONN_ERRORS as error:
                    state = f"error:{error_kind(error)}"
                    time.sleep(0.3)
                    continue
                if status == 200:
                    bodies[job] = json.loads(data)
                    state = bodies[job].get("status")
                    break
                if status == 404:
                    state = "missing"
                    break
                state = f"http:{status}"
                time.sleep(0.3)
            states[job] = state
        pending = {job for job in pending if states[job] not in TERMINAL}
        if not pending or time.time() >= deadline:
            break
        time.sleep(1)
    client.close()
    return states, bodies


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def job_status(fleet, tenant, user, job):
    """GET /v1/jobs/{id} as `user` of `tenant`: (HTTP status, body) or (None, error)."""
    token = fleet.tokens.get((tenant, user)) or fleet.tokens.get((tenant, "admin"))
    try:
        status, data, _ = Client(fleet.o.http_port, timeout=5).request("GET", f"/v1/jobs/{job}", headers={"Authorization": f"Bearer {token}"})
        return status, (json.loads(data) if data else None)
    except (CONN_ERRORS + (ValueError,)) as error:
        return None, error_kind(error)


def audit_rows(fleet, tenants):
    names = ",".join("'" + t + "'" for t in tenants)
    rows = fleet.psql(
        "SELECT tenant_id, seq, action_type, coalesce(action_detail->>'job_id',''), coalesce(policy_result,''), request_id,"
        " coalesce(action_detail->>'generation',''), outcome, (extract(epoch from ts) * 1000)::bigint, user_id"
        f" FROM audit.entries WHERE tenant_id IN ({names}) AND (action_type LIKE 'job.%' OR action_type = 'policy_decision')"
        " ORDER BY tenant_id, seq"
    )
    Entry = collections.namedtuple("Entry", "tenant seq type job result request generation outcome ms user")
    return [Entry(r[0], int(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], int(r[8]), r[9]) for r in rows]


ADMISSION_GRACE = 5


def check(fleet, sc, load):
    o = fleet.o
    violations = sc.violations
    # Drain
    drained, stats = drain_queue(fleet, sc.tenants, o.drain_timeout)
    if not drained:
        violations.append(f"queue not drained within {o.drain_timeout} s: {json.dumps(stats)}")
    states, bodies = job_states(fleet, load, time.time() + (o.drain_timeout if not drained else 30))
    sc.info["attempts_per_job"] = dict(sorted(collections.Counter(str(b.get("attempts")) for b in bodies.values()).items()))
    counts = collections.Counter(states.values())
    terminal = sum(counts[s] for s in TERMINAL)
    stuck_ids = sorted(j for j, s in states.items() if s not in TERMINAL)
    missing_ids = [j for j in stuck_ids if states[j] == "missing"]
    if stuck_ids:
        sample = ", ".join(f"{j}={states[j]}" for j in stuck_ids[:8])
        violations.append(f"{len(stuck_ids)} accepted jobs not terminal after the drain ({dict((s, counts[s]) for s in counts if s not in TERMINAL)}): {sample}")

    # Admissions a killed Dispatcher left between decision and enqueue are reconciled after the
    # grace: wait that long (plus a sweep) before judging the audit log.
    time.sleep(ADMISSION_GRACE + 3)

    # Audit
    entries = audit_rows(fleet, sc.tenants)
    by_job = collections.defaultdict(collections.Counter)
    after_replay = collections.Counter()
    for e in entries:
        if e.job and e.type != "policy_decision":
            by_job[e.job][e.type] += 1
            # The replayed run's own entries (the operator's job.replayed entry is not one).
            if sc.replayed_at and e.ms >= sc.replayed_at * 1000 and e.type in JOB_EVIDENCE:
                after_replay[e.job] += 1
    # Jobs replayed: dead-lettered before the replay, accepted by us.
    replayed_jobs = set()
    if sc.replayed_at:
        dead_before = {e.job for e in entries if e.type == "job.dead_lettered" and e.ms < sc.replayed_at * 1000}
        replayed_jobs = dead_before & set(load.accepted)
    duplicate, missing_audit, conflicting = [], [], []
    replayed_dead_entries = collections.Counter()
    rows_per_job = collections.Counter()  # the brief's query: all four terminal types, per job
    for job, state in states.items():
        types = by_job.get(job, collections.Counter())
        rows_per_job[sum(types[t] for t in TERMINAL_AUDIT.values())] += 1
        if state not in TERMINAL:
            continue
        wanted = TERMINAL_AUDIT[state]
        have = types[wanted]
        if state == "failed":
            have = max(0, have - types["job.retried"])  # a job.failed before each retry is not terminal
        if job in replayed_jobs and state == "dead":
            # Dead-lettered again after its replay (one command may replay it more than once):
            # one entry per dead-lettering is right, so only a missing one is judged here.
            replayed_dead_entries[str(have)] += 1
        elif have > 1:
            duplicate.append(f"{job}: {state}, {have} x {wanted}")
        if have == 0:
            missing_audit.append(f"{job}: {state}, no {wanted} entry ({dict(types) or 'no lifecycle entries'})")
        others = {t for t in ("job.succeeded", "job.dead_lettered", "job.cancelled") if t != wanted and types[t]}
        if others and not (job in replayed_jobs):
            conflicting.append(f"{job}: {state} but also {sorted(others)}")
    if duplicate:
        violations.append(f"{len(duplicate)} jobs with more than one terminal audit entry: {duplicate[:5]}")
    if missing_audit:
        violations.append(f"{len(missing_audit)} terminal jobs without their terminal audit entry: {missing_audit[:5]}")
    if conflicting:
        violations.append(f"{len(conflicting)} jobs audited with a terminal type other than their final state: {conflicting[:5]}")

    # Allowed decisions without a job
    not_queued = {e.job for e in entries if e.type == "job.not_queued"}
    allowed = [e for e in entries if e.type == "policy_decision" and e.result == "allow"]
    orphans = []
    for e in allowed:
        if not e.job:
            orphans.append((e, "no job_id in action_detail"))
            continue
        if e.job in not_queued:
            continue
        if any(by_job.get(e.job, {}).get(t) for t in JOB_EVIDENCE):
            continue
        orphans.append((e, None))
    orphan_evidence = []
    for e, why in orphans[:8]:
        index = load.by_request.get(e.request)
        answer, key_job = None, None
        if index is not None:
            a = load.attempts[index]
            key_job = load.key_to_id.get(a[3])
            answer = f"HTTP {a[5]} {a[6]}".strip() if a[5] is not None else f"connection {a[6]}"
            answer += f" at +{a[0] - sc.fault_start:.2f} s from the fault" if sc.fault_start else ""
        now_status, now_body = job_status(fleet, e.tenant, e.user, e.job) if e.job else (None, None)
        orphan_evidence.append({"job_id": e.job, "seq": e.seq, "tenant": e.tenant, "request_id": e.request,
                                "get_job_now": now_status if now_status != 200 else now_body.get("status"),
                                "answer_to_that_request": answer or "(not a load request)", "why": why or "no job.started/terminal nor job.not_queued entry",
                                "accepted_by_load": e.job in load.accepted,
                                "job_the_same_idempotency_key_got": key_job})
    if orphans:
        violations.append(f"{len(orphans)} allowed policy decisions without their job nor a job.not_queued entry")
    # A job audited as never queued must not have run.
    ran_anyway = sorted(j for j in not_queued if any(by_job.get(j, {}).get(t) for t in JOB_EVIDENCE))
    if ran_anyway:
        violations.append(f"{len(ran_anyway)} jobs audited job.not_queued that ran all the same: {ran_anyway[:5]}")

    # Replays audited
    if sc.replayed_at:
        unaudited = sorted(j for j in replayed_jobs if after_replay[j] == 0)
        sc.info["replayed_jobs"] = len(replayed_jobs)
        sc.info["job.dead_lettered_entries_per_replayed_job"] = dict(replayed_dead_entries)
        replays = sum(int(out.split()[-1]) for out in sc.info.get("replay_output", {}).values() if out.startswith("replayed "))
        if replays > len(replayed_jobs):
            sc.warnings.append(
                f"the replay commands reported {replays} replays for {len(replayed_jobs)} dead letters: entries the workers "
                "dead-lettered again while `dead-letters replay` ran were replayed again by the same command (it reads the "
                "dead-letter stream until empty, so with fast workers and poison jobs it need not terminate)")
        sc.info["replayed_without_audit_entries_after_replay"] = len(unaudited)
        if unaudited:
            sample = []
            for job in unaudited[:3]:
                rows = [f"{e.seq}:{e.type}:gen{e.generation}" for e in entries if e.job == job]
                body = bodies.get(job, {})
                ran = body.get("started_at", "?")
                sample.append(f"{job} audit [{', '.join(rows)}]; status now {body.get('status')}, started_at {ran}"
                              f" (replay started {iso(sc.replayed_at)})")
            violations.append(
                f"{len(unaudited)} of {len(replayed_jobs)} replayed dead letters ran again with no audit entry written after the replay: {sample}"
            )
        not_dead = [j for j in replayed_jobs if states.get(j) != "dead"]
        if not_dead:
            sc.warnings.append(f"{len(not_dead)} replayed poison jobs did not end dead: {[(j, states.get(j)) for j in not_dead[:5]]}")
        after = {t: (fleet.queue_stats(t) or {}).get("dead_letters") for t in sc.tenants}
        sc.info["dead_letters_after_replay"] = after

    # Chain
    chain_intact = True
    for tenant in sc.tenants:
        done = fleet.dispatcher("audit", "verify", "--tenant", tenant, "--database-url", fleet.database_url, timeout=120, check=False)
        if done.returncode != 0:
            chain_intact = False
            violations.append(f"audit verify --tenant {tenant} exited {done.returncode}: {(done.stdout + done.stderr).strip()[-400:]}")

    # Statuses
    statuses = collections.Counter()
    problems = collections.Counter()
    conn = collections.Counter()
    late_503, bad_5xx, unexpected_conn = [], [], []
    grace = o.recovery_grace
    for t, tenant, user, key, request_id, status, detail in load.attempts:
        if status is not None:
            statuses[str(status)] += 1
            if status != 202:
                problems[f"{status} {detail}".strip()] += 1
            if status >= 500 and status != 503:
                bad_5xx.append(f"{request_id}: {status} {detail}")
            if status == 503 and sc.fault_end and t > sc.fault_end + grace:
                late_503.append((t - sc.fault_end, request_id, detail))
            if 400 <= status < 500 and str(status) not in o.documented:
                bad_5xx.append(f"{request_id}: undocumented {status} {detail}")
            continue
        if any(start <= t <= end for start, end in sc.down):
            conn[f"{detail} (Dispatcher down: expected)"] += 1
        elif sc.fault_start and sc.fault_start <= t <= (sc.fault_end or t) + 1.0:
            conn[f"{detail} (during the fault)"] += 1
        else:
            conn[f"{detail} (outside any fault)"] += 1
            unexpected_conn.append(f"{request_id}: {detail} at +{t - (sc.fault_end or t):.2f} s after the fault was over")
    timeline = {}
    origin = sc.fault_start or (load.attempts[0][0] if load.attempts else 0)
    for t, tenant, user, key, request_id, status, detail in load.attempts:
        if status == 202:
            continue
        label = f"{status} {detail}".strip() if status is not None else f"connection {detail}"
        first, last = timeline.get(label, (t, t))
        timeline[label] = (min(first, t), max(last, t))
    sc.info["non_202_seconds_from_fault_start"] = {k: [round(a - origin, 2), round(b - origin, 2)] for k, (a, b) in timeline.items()}
    if sc.fault_end and sc.fault_start:
        sc.info["fault_over_at_seconds"] = round(sc.fault_end - sc.fault_start, 2)
    if bad_5xx:
        violations.append(f"{len(bad_5xx)} answers neither a documented 4xx nor 503: {bad_5xx[:5]}")
    if unexpected_conn:
        violations.append(f"{len(unexpected_conn)} connection errors while no fault was on: {unexpected_conn[:5]}")
    if late_503:
        last = max(late_503)
        violations.append(
            f"{len(late_503)} 503s more than {grace:.0f} s after the fault was over (the last {last[0]:.1f} s after, {last[1]}: {last[2]})"
        )
    if load.idempotency_conflicts:
        violations.append(f"{len(load.idempotency_conflicts)} Idempotency-Keys answered with two job ids: {load.idempotency_conflicts[:3]}")
    if "403 policy-denied" in problems:
        sc.warnings.append(f"{problems['403 policy-denied']} submissions of the allowed noop.run were answered 403 policy-denied")
    if statuses.get("202", 0) == 0:
        violations.append("no submission was accepted at all")
    elif sc.fault_end and not any(a[5] == 202 and a[0] > sc.fault_end for a in load.attempts):
        violations.append("no submission was accepted after the fault was over")

    violations.extend(fleet.unexpected_exits())
    return {
        "scenario": sc.name,
        "tenants": sc.tenants,
        "accepted": len(load.accepted),
        "terminal": terminal,
        "stuck": len(stuck_ids),
        "missing": len(missing_ids),
        "final_states": dict(counts),
        "duplicate_terminal_audit": len(duplicate),
        "missing_terminal_audit": len(missing_audit),
        "terminal_audit_rows_per_job": {str(k): v for k, v in sorted(rows_per_job.items())},
        "allowed_decisions": len(allowed),
        "allowed_without_job": len(orphans),
        "allowed_without_job_evidence": orphan_evidence,
        "chain_intact": chain_intact,
        "statuses": dict(sorted(statuses.items())),
        "problems": dict(sorted(problems.items())),
        "connection_errors": dict(conn),
        "submissions": load.submissions,
        "abandoned_at_stop": load.abandoned,
        "fault_seconds": round(sc.fault_end - sc.fault_start, 2) if sc.fault_start and sc.fault_end else None,
        "info": sc.info,
        "warnings": sc.warnings,
        "violations": violations,
        "ok": not violations,
    }


def run_scenario(fleet, name):
    tenants = [f"{name}-a", f"{name}-b"]
    sc = Scenario(name, tenants)
    o = fleet.o
    log(f"=== {name}: load on {', '.join(tenants)}")
    load = Load(fleet, name, tenants, POISON_MIX if name == "poison-replay" else NORMAL_MIX)
    sc.violations.extend(f"before the scenario: {crash}" for crash in fleet.unexpected_exits())
    load.start()
    try:
        time.sleep(o.warmup)
        if name == "poison-replay":
            run_poison_replay(fleet, sc, load)
        else:
            FAULTS[name](fleet, sc, load)
        post_fault_load(fleet, sc, load)
    finally:
        load.stop()
    log(f"{name}: load stopped ({len(load.accepted)} accepted); draining")
    result = check(fleet, sc, load)
    # Leave the fleet ready for the next scenario.
    try:
        fleet.wait_for("the Dispatcher is not ready after the scenario", fleet.ready, 30)
    except HarnessError as error:
        result["violations"].append(str(error))
        result["ok"] = False
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "debug"))
    parser.add_argument("--redis-port", type=int, default=6393)
    parser.add_argument("--pg-port", type=int, default=5493)
    parser.add_argument("--opa-port", type=int, default=8293)
    parser.add_argument("--http-port", type=int, default=int(os.environ.get("OC_CHAOS_HTTP_PORT", 8093)))
    parser.add_argument("--issuer-port", type=int, default=int(os.environ.get("OC_CHAOS_ISSUER_PORT", 8294)))
    parser.add_argument("--metrics-port", type=int, default=int(os.environ.get("OC_CHAOS_METRICS_PORT", 9193)), help="worker-1's; worker-2 uses the next")
    parser.add_argument("--users", type=int, default=2, help="load threads per tenant (one user each)")
    parser.add_argument("--pace", type=float, default=0.01, help="seconds each load thread waits between submissions")
    parser.add_argument("--request-timeout", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before the fault")
    parser.add_argument("--after", type=float, default=5.0, help="seconds of load at least after the fault")
    parser.add_argument("--clean", type=float, default=3.0, help="seconds of 202-only answers that end the load after the fault")
    parser.add_argument("--settle", type=float, default=30.0, help="longest load after the fault")
    parser.add_argument("--recovery-grace", type=float, default=10.0, help="503s later than this after the fault are violations")
    parser.add_argument("--drain-timeout", type=float, default=90.0)
    parser.add_argument("--visibility-timeout-ms", type=int, default=5000)
    parser.add_argument("--grace-seconds", type=float, default=30.0)
    parser.add_argument("--poison-seconds", type=float, default=5.0)
    parser.add_argument("--replay-timeout", type=float, default=30.0)
    parser.add_argument("--keep", action="store_true", help="leave the services (not the fleet) running at the end")
    o = parser.parse_args()
    unknown = [s for s in o.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}: one of {', '.join(SCENARIOS)}")
    chosen = o.scenarios or SCENARIOS
    for binary in ("Dispatcher", "Workers"):
        if not os.access(os.path.join(o.bin, binary), os.X_OK):
            print(f"chaos: {o.bin}/{binary} missing: run swift build", file=sys.stderr)
            return 2
    fleet = Fleet(o)

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    failed = False
    try:
        spec = json.loads(fleet.dispatcher("openapi").stdout)
        o.documented = set(spec["paths"]["/v1/jobs"]["post"]["responses"]) | set(spec["paths"]["/v1/jobs/{id}"]["get"]["responses"])
        fleet.setup([f"{name}-{suffix}" for name in chosen for suffix in ("a", "b")])
        for name in chosen:
            try:
                result = run_scenario(fleet, name)
            except HarnessError as error:
                result = {"scenario": name, "ok": False, "harness_error": str(error), "violations": [f"harness: {error}"]}
                log(f"{name}: harness error: {error}")
            print(json.dumps(result, sort_keys=False), flush=True)
            log(f"{name}: {'ok' if result['ok'] else 'NOT ok: ' + '; '.join(v[:160] for v in result['violations'])}")
            failed = failed or not result["ok"]
    except HarnessError as error:
        log(f"harness error: {error}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log("stopping the fleet")
        fleet.stop_all()
        if not o.keep:
            try:
                fleet.services("stop")
            except HarnessError as error:
                log(f"could not stop the services: {error}")
        log(f"logs in {os.path.relpath(VAR, ROOT)}/logs; done in {time.time() - T0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
