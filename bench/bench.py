#!/usr/bin/env python3
"""Measures direct vs HAProxy vs apilb against the same three nginx TLS backends, in one run.

Started by run.sh (which checks the tools and raises the open-files limit). Everything listens on
127.0.0.1 at free ports; every process started here is recorded and stopped by its PID on exit.
See README.md for what each figure means.
"""

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGETS = ("direct", "haproxy", "apilb")
LBS = ("haproxy", "apilb")
HOST = "127.0.0.1"
BLOB_BYTES = 1 << 20

MODES = {
    # seconds per load figure, rounds, idle connections held, warm-up seconds per LB and protocol
    "smoke": {"seconds": 3, "rounds": 1, "idle": 1000, "warmup": 2},
    "full": {"seconds": 10, "rounds": 3, "idle": 9000, "warmup": 20},
}

# Seconds an LB is left idle before its resident memory is read (start-up, then after opening the
# idle connections): longer than apilb's native-memory trim interval, so both LBs are read at rest.
IDLE_SETTLE_S = 6

# Load shapes; the same for every target.
H1_CONNS = 32
H2_CONNS, H2_STREAMS = 8, 16
BULK_CONNS = 4
NEWCONN_CONNS = 16

VERSION_JSON = ('{"major":"1","minor":"30","gitVersion":"v1.30.0",'
                '"platform":"linux/amd64","backend":"%s"}')

WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration_us":%d,"requests":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Processes:
    """Every process this run starts, by PID; stop_all() ends exactly those and nothing else."""

    def __init__(self):
        self.running = {}

    def start(self, name, argv, cpu=None, logfile=None, stdin=subprocess.DEVNULL,
              stdout=None, env=None):
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + argv
        out = stdout
        if out is None:
            out = open(logfile, "ab") if logfile else subprocess.DEVNULL
        # own session: a Ctrl-C on the terminal reaches the driver only, which then stops each child
        p = subprocess.Popen(argv, stdin=stdin, stdout=out,
                             stderr=subprocess.STDOUT if logfile or stdout else subprocess.DEVNULL,
                             start_new_session=True, env=env)
        self.running[p.pid] = (name, p)
        return p

    def stop(self, p, grace=3.0):
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
                p.wait(grace)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(5)
            except ProcessLookupError:
                pass
        self.running.pop(p.pid, None)

    def wait(self, p, timeout):
        """Waits for a bounded tool; kills it by PID if it overruns."""
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            log("  ! %s (pid %d) overran %.0fs; killing it" % (self.running[p.pid][0], p.pid, timeout))
            self.stop(p, grace=1)
        self.running.pop(p.pid, None)
        return p.returncode

    def stop_all(self):
        for pid, (name, p) in list(self.running.items()):
            self.stop(p, grace=2)


PROCS = Processes()


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind((HOST, 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def wait_listening(port, proc, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection((HOST, port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------- CPU and memory accounting

def proc_cpu_s(pid):
    """utime+stime of a whole process (all threads), in seconds; None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError):
        return None


def proc_status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def system_busy_s():
    """Busy seconds since boot from /proc/stat, for the machine ("cpu") and each core ("cpuN").

    Interrupt and softirq time is kept apart under "<name>.irq": loopback packets are processed
    there, mostly on behalf of this run's own processes, but the kernel charges it to no process.
    """
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu"):
                break
            name, *vals = line.split()
            v = [int(x) for x in vals] + [0] * 8
            # user nice system idle iowait irq softirq steal
            out[name] = (v[0] + v[1] + v[2] + v[7]) / CLK_TCK
            out[name + ".irq"] = (v[5] + v[6]) / CLK_TCK
    return out


def all_procs_cpu_s():
    """{pid: (name, cpu seconds)} of every process visible now."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    text = f.read()
                name = text[text.index("(") + 1:text.rindex(")")]
                fields = text.rsplit(")", 1)[1].split()
                out[int(d)] = (name, (int(fields[11]) + int(fields[12])) / CLK_TCK)
            except (OSError, ValueError, IndexError):
                pass
    return out


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def self_cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Window:
    """CPU over one measured window: the LB under test, our other processes, and everyone else.

    "noise" is the CPU the machine spent on processes this run did not start, in cores (1.0 = one
    core fully busy for the whole window); "lb_core_noise" is the same for the LB's own core only.
    """

    def __init__(self, run, lb_pid):
        self.run, self.lb_pid = run, lb_pid

    def _sample(self):
        everyone = all_procs_cpu_s()
        own = {pid: everyone.get(pid, (None, None))[1] for pid in self.run.long_lived_pids()}
        self.everyone.append(everyone)
        return time.monotonic(), system_busy_s(), own, children_cpu_s(), self_cpu_s()

    def __enter__(self):
        self.everyone = []
        self.start = self._sample()
        return self

    def __exit__(self, *exc):
        self.end = self._sample()

    def result(self):
        (t0, sys0, own0, ch0, me0), (t1, sys1, own1, ch1, me1) = self.start, self.end
        wall = t1 - t0
        own_delta = {pid: own1[pid] - own0[pid] for pid in own0
                     if own0.get(pid) is not None and own1.get(pid) is not None}
        lb = own_delta.get(self.lb_pid) if self.lb_pid else None
        ours = sum(own_delta.values()) + (ch1 - ch0) + (me1 - me0)
        busy = sys1["cpu"] - sys0["cpu"]
        res = {"wall_s": round(wall, 3), "lb_cpu_s": None if lb is None else round(lb, 3),
               "backends_cpu_s": round(sum(own_delta.get(p, 0) for p in self.run.backend_pids()), 3),
               "loadgen_cpu_s": round(ch1 - ch0, 3),
               "irq_cores": round((sys1["cpu.irq"] - sys0["cpu.irq"]) / wall, 3),
               "noise_cores": round(max(0.0, busy - ours) / wall, 3)}
        # who else was busy: the biggest consumers among processes alive at both ends
        ours = set(own0) | {os.getpid()}
        e0, e1 = self.everyone
        others = sorted(((e1[p][1] - e0[p][1], e1[p][0]) for p in e1
                         if p in e0 and p not in ours and e1[p][1] - e0[p][1] > 0), reverse=True)
        res["noise_top"] = ["%s=%.2fs" % (name, cpu) for cpu, name in others[:3]]
        lb_core = "cpu%d" % self.run.lb_cpu if self.run.pinned else None
        if lb_core and lb_core in sys1:
            lb_all = sum(own_delta.get(p, 0) for p in self.run.lb_pids())
            res["lb_core_noise"] = round(max(0.0, (sys1[lb_core] - sys0[lb_core]) - lb_all) / wall, 3)
        return res


# ---------------------------------------------------------------- setup: certificates, backends, LBs

def make_pki(work, key_type):
    pki = os.path.join(work, "pki")
    os.makedirs(pki, exist_ok=True)
    newkey = ["-newkey", "rsa:2048"] if key_type == "rsa" else \
        ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]

    def ossl(*args):
        subprocess.run(["openssl"] + list(args), cwd=pki, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ossl("req", "-x509", *newkey, "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
         "-subj", "/CN=apilb-bench-ca")
    ossl("req", *newkey, "-nodes", "-keyout", "server.key", "-out", "server.csr",
         "-subj", "/CN=kube-apiserver")
    with open(os.path.join(pki, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes\n"
                "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf")
    return pki


NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {work}/{name}.pid;
error_log {work}/{name}.error.log warn;
events {{ worker_connections 16000; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {work}/{name}-tmp;
  proxy_temp_path {work}/{name}-tmp;
  # like a Go API server: connections live as long as the client wants, however many requests
  keepalive_timeout 3600s;
  keepalive_requests 100000000;
  client_header_timeout 3600s;
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {pki}/server.crt;
    ssl_certificate_key {pki}/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:{name}:10m;
    ssl_session_timeout 1h;
    location = /version {{ default_type application/json; return 200 '{version}'; }}
    location = /blob {{ default_type application/octet-stream; alias {work}/blob.bin; }}
  }}
}}
"""

HAPROXY_CONF = """\
# What a kubeadm HA guide sets up: TCP mode, TLS passthrough, a log line per connection
# (option tcplog; to stdout, as in a container, where the guide has syslog).
global
    nbthread {nbthread}
    maxconn {maxconn}
{global_log}defaults
    mode tcp
{defaults_log}    timeout connect 2s
    timeout client 1h
    timeout server 1h
frontend apiserver
    bind {host}:{port}
    default_backend masters
backend masters
    balance roundrobin
    default-server check check-ssl verify none inter 2s rise 2 fall 2
{servers}
"""

APILB_CONF = """\
listeners:
  - {{ name: apiserver, address: {host}:{port} }}
backends:
{backends}
health: {{ mode: tls, tls: {{ insecure: true }} }}
admin: {{ enabled: false }}
# every load comes from one address here; the per-source limit still counts each connection
limits: {{ perSource: {{ maxConnections: 100000 }} }}
{extra}"""


def shipped_java_opts():
    """The JVM flags apilb ships with: lb-app/src/dist/conf/jvm.options, the one place they are set."""
    try:
        with open(os.path.join(REPO, "lb-app", "src", "dist", "conf", "jvm.options")) as f:
            return " ".join(line.strip() for line in f if line.strip() and not line.lstrip().startswith("#"))
    except FileNotFoundError:
        return ""


def default_dist():
    """The runtime tarball the build made (lb-app/target/apilb-*-linux-x86_64.tar.gz), or None."""
    target = os.path.join(REPO, "lb-app", "target")
    try:
        names = sorted(n for n in os.listdir(target) if re.fullmatch(r"apilb-.*-linux-x86_64\.tar\.gz", n))
    except FileNotFoundError:
        return None
    return os.path.join(target, names[-1]) if names else None


def prune_old_runs(parent, keep):
    """Leaves the newest few run directories (their logs help explain a figure); drops the rest."""
    try:
        runs = sorted(d for d in os.listdir(parent) if d.startswith("run-"))
    except FileNotFoundError:
        return
    for d in runs[:max(0, len(runs) - keep)]:
        shutil.rmtree(os.path.join(parent, d), ignore_errors=True)


class Run:
    def __init__(self, args):
        self.args = args
        self.mode = MODES["smoke" if args.smoke else "full"]
        if args.seconds:
            self.mode["seconds"] = args.seconds
        if args.rounds:
            self.mode["rounds"] = args.rounds
        if args.idle_conns is not None:
            self.mode["idle"] = args.idle_conns
        self.work = os.path.join(HERE, "work", time.strftime("run-%Y%m%d-%H%M%S"))
        prune_old_runs(os.path.dirname(self.work), keep=4)
        os.makedirs(self.work)
        self.cores = os.cpu_count() or 1
        self.pinned = self.cores >= 2 and not args.no_pin
        self.load_cpu, self.lb_cpu = (0, 1) if self.pinned else (None, None)
        self.backends = []          # (name, port, Popen)
        self.lb = {}                # target -> (port, Popen) of the long-lived instance
        self.fresh = []             # short-lived LB instances (start-up and idle figures)
        # apilb as users start it: bin/apilb of the runtime tarball, unpacked here (its runtime,
        # conf/jvm.options and AOT cache); --jar runs java -jar with the shipped flags instead
        self.dist = None if args.jar else (args.dist or default_dist())
        self.jar = args.jar or os.path.join(REPO, "lb-app", "target", "apilb.jar")
        self.launcher = None
        self.skipped = {}

    def unpack_dist(self):
        dest = os.path.join(self.work, "dist")
        os.makedirs(dest)
        subprocess.run(["tar", "-xzf", self.dist, "-C", dest], check=True)
        self.launcher = os.path.join(dest, "apilb", "bin", "apilb")

    def apilb_argv(self, conf):
        """argv and environment of one apilb instance."""
        extra = self.args.java_opts.split()
        if self.launcher:
            env = dict(os.environ, JAVA_OPTS=" ".join(extra))
            return [self.launcher, "--config", conf], env
        # the system java may be older than the runtime the options are written for (jvm.options)
        return (["java", "-XX:+IgnoreUnrecognizedVMOptions"] + shipped_java_opts().split() + extra
                + ["-jar", self.jar, "--config", conf], None)

    def apilb_description(self):
        how = ("%s (from %s)" % (os.path.relpath(self.launcher, REPO), os.path.basename(self.dist))
               if self.launcher else "java -jar %s with conf/jvm.options' flags" % os.path.relpath(self.jar, REPO))
        return how + (", extra JVM options: " + self.args.java_opts if self.args.java_opts else "")

    # pids whose CPU counts as "ours" in every window
    def backend_pids(self):
        return [p.pid for _, _, p in self.backends]

    def lb_pids(self):
        return [p.pid for _, p in self.lb.values()] + [p.pid for p in self.fresh if p.poll() is None]

    def long_lived_pids(self):
        return self.backend_pids() + self.lb_pids()

    # ---- backends
    def start_backends(self):
        with open(os.path.join(self.work, "blob.bin"), "wb") as f:
            f.write(os.urandom(BLOB_BYTES))
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        for i, port in enumerate(free_ports(3), 1):
            name = "m%d" % i
            os.makedirs(os.path.join(self.work, name + "-tmp"), exist_ok=True)
            conf = os.path.join(self.work, name + ".nginx.conf")
            with open(conf, "w") as f:
                f.write(NGINX_CONF.format(work=self.work, name=name, port=port, pki=self.pki,
                                          nofile=nofile, version=VERSION_JSON % name))
            p = PROCS.start("nginx-" + name,
                            ["nginx", "-p", self.work, "-c", conf, "-e",
                             os.path.join(self.work, name + ".error.log")],
                            cpu=self.load_cpu, logfile=os.path.join(self.work, name + ".out"))
            if not wait_listening(port, p):
                raise SystemExit("nginx backend %s did not start:\n%s" %
                                 (name, tail(os.path.join(self.work, name + ".error.log"))))
            self.backends.append((name, port, p))
        log("backends: nginx %s" % ", ".join("%s=%s:%d (pid %d)" % (n, HOST, pt, p.pid)
                                             for n, pt, p in self.backends))

    # ---- load balancers
    def start_lb(self, target, tag):
        """Starts one LB instance on a free port; returns (port, Popen, t_start) or None."""
        port = free_ports(1)[0]
        logfile = os.path.join(self.work, "%s-%s.log" % (target, tag))
        if target == "haproxy":
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            conf = os.path.join(self.work, "haproxy-%s.cfg" % tag)
            servers = "\n".join("    server %s %s:%d" % (n, HOST, pt) for n, pt, _ in self.backends)
            with open(conf, "w") as f:
                logs = not self.args.no_access_logs
                f.write(HAPROXY_CONF.format(nbthread=1, maxconn=min(hard, 20000) // 2 - 300,
                                            host=HOST, port=port, servers=servers,
                                            global_log="    log stdout format raw local0\n" if logs else "",
                                            defaults_log="    log global\n    option tcplog\n" if logs else ""))
            argv = ["haproxy", "-db", "-f", conf]
        else:
            conf = os.path.join(self.work, "apilb-%s.yaml" % tag)
            backends = "\n".join("  - { name: %s, address: %s:%d }" % (n, HOST, pt)
                                 for n, pt, _ in self.backends)
            with open(conf, "w") as f:
                extra = self.args.apilb_extra_yaml or ""
                if self.args.no_access_logs:
                    extra = "logging: { accessLog: false }\n" + extra
                f.write(APILB_CONF.format(host=HOST, port=port, backends=backends, extra=extra))
            argv, env = self.apilb_argv(conf)
        t0 = time.monotonic()
        p = PROCS.start("%s-%s" % (target, tag), argv, cpu=self.lb_cpu, logfile=logfile,
                        env=env if target == "apilb" else None)
        return port, p, t0, logfile

    def start_long_lived_lbs(self):
        for target in LBS:
            if target in self.skipped:
                continue
            port, p, _, logfile = self.start_lb(target, "main")
            try:
                if not wait_listening(port, p, timeout=60):
                    raise RuntimeError("it did not listen on %s:%d" % (HOST, port))
                first_byte(port, timeout=30)
            except RuntimeError as e:
                # one LB that cannot start must not cost the figures of the others
                PROCS.stop(p)
                self.skipped[target] = "failed to start (%s); %s:\n%s" % (e, logfile, tail(logfile, 8))
                log("%s: SKIPPED, %s" % (target, self.skipped[target]))
                continue
            self.lb[target] = (port, p)
            log("%s: %s:%d (pid %d, pinned to cpu %s)" % (target, HOST, port, p.pid, self.lb_cpu))

    def port_of(self, target):
        return self.backends[0][1] if target == "direct" else self.lb[target][0]

    def pid_of(self, target):
        return None if target == "direct" else self.lb[target][1].pid


# ---------------------------------------------------------------- load tools

def run_wrk(run, url, conns, seconds, headers=()):
    script = os.path.join(run.work, "report.lua")
    if not os.path.exists(script):
        with open(script, "w") as f:
            f.write(WRK_REPORT)
    argv = ["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "5s", "-s", script]
    for h in headers:
        argv += ["-H", h]
    out = os.path.join(run.work, "wrk.out")
    with open(out, "wb") as f:
        p = PROCS.start("wrk", argv + [url], cpu=run.load_cpu, stdout=f)
        PROCS.wait(p, seconds + 30)
    with open(out) as f:
        text = f.read()
    for line in text.splitlines():
        if line.startswith("WRKJSON "):
            r = json.loads(line[len("WRKJSON "):])
            r["errors"] = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
            return r
    raise RuntimeError("wrk gave no report:\n" + text[-2000:])


def run_h2load(run, url, conns, streams, seconds):
    logf = os.path.join(run.work, "h2load.log")
    out = os.path.join(run.work, "h2load.out")
    argv = ["h2load", "-t1", "-c%d" % conns, "-m%d" % streams, "-D%d" % seconds,
            "--log-file", logf, url]
    with open(out, "wb") as f:
        p = PROCS.start("h2load", argv, cpu=run.load_cpu, stdout=f)
        PROCS.wait(p, seconds + 30)
    with open(out) as f:
        text = f.read()
    r = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("finished in"):
            # finished in 3.00s, 12345.67 req/s, 1.23MB/s
            parts = line.split(",")
            r["duration_us"] = float(parts[0].split()[2].rstrip("s")) * 1e6
            r["rps"] = float(parts[1].split()[0])
        elif line.startswith("requests:"):
            nums = [int(w) for w in line.replace(",", " ").split() if w.isdigit()]
            # N total, N started, N done, N succeeded, N failed, N errored, N timeout
            r["requests"] = nums[3]
            r["errors"] = nums[4] + nums[5] + nums[6]
    if "rps" not in r:
        raise RuntimeError("h2load gave no report:\n" + text[-2000:])
    lat = []
    with open(logf) as f:
        for line in f:
            cols = line.split("\t")
            if len(cols) >= 3 and cols[1] == "200":
                lat.append(int(cols[2]))
    lat.sort()
    r["p50_us"] = percentile(lat, 50)
    r["p99_us"] = percentile(lat, 99)
    os.remove(logf)
    return r


def percentile(sorted_vals, pct):
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(round(pct / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def first_byte(port, timeout):
    """Polls: connect, TLS handshake, GET /version, until a byte comes back. Seconds taken."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t0 = time.monotonic()
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), 0.5) as s:
                s.settimeout(1.0)
                with ctx.wrap_socket(s, server_hostname=HOST) as t:
                    t.sendall(b"GET /version HTTP/1.1\r\nHost: kubernetes\r\nConnection: close\r\n\r\n")
                    if t.recv(1):
                        return time.monotonic() - t0
        except (OSError, ssl.SSLError):
            pass
        time.sleep(0.005)
    raise RuntimeError("no byte back from port %d within %.0fs" % (port, timeout))


# ---------------------------------------------------------------- figures

def us_to_ms(v):
    return None if v is None else round(v / 1000.0, 3)


def per(cpu_s, count, scale):
    return None if cpu_s is None or not count else round(cpu_s * scale / count, 3)


def load_window(run, target, path, load):
    """Runs load(url) against target inside a CPU window.

    Returns the window's CPU figures with what every load reports (requests, errors, p50/p99,
    LB CPU per request), the tool's raw report, and the completed requests per second.
    """
    url = "https://%s:%d%s" % (HOST, run.port_of(target), path)
    with Window(run, run.pid_of(target)) as w:
        r = load(url)
    c = w.result()
    fig = dict(c, requests=r["requests"], errors=r["errors"], p50_ms=us_to_ms(r["p50_us"]),
               p99_ms=us_to_ms(r["p99_us"]), lb_cpu_us_per_req=per(c["lb_cpu_s"], r["requests"], 1e6))
    return fig, r, round(r["requests"] / (r["duration_us"] / 1e6), 1)


def fig_h1_small(run, target, secs):
    fig, _, rate = load_window(run, target, "/version", lambda url: run_wrk(run, url, H1_CONNS, secs))
    return dict(fig, rps=rate)


def fig_h2_small(run, target, secs):
    fig, r, _ = load_window(run, target, "/version",
                            lambda url: run_h2load(run, url, H2_CONNS, H2_STREAMS, secs))
    return dict(fig, rps=r["rps"])


def fig_bulk(run, target, secs):
    fig, r, _ = load_window(run, target, "/blob", lambda url: run_wrk(run, url, BULK_CONNS, secs))
    gib = r["bytes"] / float(1 << 30)
    return dict(fig, mib_s=round(r["bytes"] / float(1 << 20) / (r["duration_us"] / 1e6), 1), bytes=r["bytes"],
                lb_cpu_s_per_gib=None if fig["lb_cpu_s"] is None or not gib else round(fig["lb_cpu_s"] / gib, 3))


def fig_newconn(run, target, secs):
    fig, _, rate = load_window(run, target, "/version",
                               lambda url: run_wrk(run, url, NEWCONN_CONNS, secs, headers=("Connection: close",)))
    # one request per connection: per request is per connection
    return dict(fig, conn_s=rate, lb_cpu_us_per_conn=fig["lb_cpu_us_per_req"])


def fig_seq(run, target, secs):
    fig, r, _ = load_window(run, target, "/version", lambda url: run_wrk(run, url, 1, secs))
    return dict(fig, mean_ms=us_to_ms(r["mean_us"]))


def fig_fresh(run, target, idle_count):
    """Start-up to first proxied byte, then idle capacity, on a fresh instance of the LB."""
    port, p, t0, logfile = run.start_lb(target, "fresh")
    run.fresh.append(p)
    res = {}
    try:
        try:
            first_byte(port, timeout=60)
            res["first_byte_ms"] = round((time.monotonic() - t0) * 1000, 1)
        except RuntimeError as e:
            res["error"] = "%s; log tail:\n%s" % (e, tail(logfile))
            return res
        if not idle_count:
            return res
        # what the LB holds once started and idle: after a round of health checks, and after the
        # JVM has handed back the native memory its JIT compilers used during start-up
        # (conf/jvm.options: TrimNativeHeapInterval=5000)
        time.sleep(IDLE_SETTLE_S)
        res["rss_before_kib"] = proc_status_kib(p.pid, "VmRSS")
        res["idle_rss_mib"] = round(res["rss_before_kib"] / 1024.0, 1)
        client = PROCS.start("idle-client",
                             [sys.executable, os.path.join(HERE, "idle_client.py"), "--port", str(port),
                              "--count", str(idle_count), "--ca", os.path.join(run.pki, "ca.crt")],
                             cpu=run.load_cpu, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            opened = read_json_line(client, timeout=30 + idle_count / 50)
            time.sleep(IDLE_SETTLE_S)  # idle, as above
            res["rss_after_kib"] = proc_status_kib(p.pid, "VmRSS")
            res["hwm_kib"] = proc_status_kib(p.pid, "VmHWM")
            res["opened"], res["open_failed"] = opened["opened"], opened["failed"]
            res["open_errors"] = opened.get("errors")
            res["open_seconds"] = opened["seconds"]
            client.stdin.write(b"check\n")
            client.stdin.flush()
            checked = read_json_line(client, timeout=30 + idle_count / 100)
            res["usable_at_end"], res["check_seconds"] = checked["ok"], checked["seconds"]
            if res["opened"]:
                res["kib_per_conn"] = round((res["rss_after_kib"] - res["rss_before_kib"]) / res["opened"], 2)
            client.stdin.close()
        except (RuntimeError, BrokenPipeError, ValueError, KeyError) as e:
            res["error"] = str(e)
        finally:
            PROCS.wait(client, 30)
            client.stdout.close()
        return res
    finally:
        PROCS.stop(p)
        run.fresh.remove(p)


def read_json_line(proc, timeout):
    import select
    deadline = time.monotonic() + timeout
    buf = b""
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            raise RuntimeError("idle client exited early")
        buf += chunk
        if b"\n" in buf:
            return json.loads(buf.split(b"\n", 1)[0])
    raise RuntimeError("idle client gave no answer within %.0fs" % timeout)


LOAD_FIGURES = [
    ("h1_small", fig_h1_small),
    ("h2_small", fig_h2_small),
    ("bulk", fig_bulk),
    ("newconn", fig_newconn),
    ("seq", fig_seq),
]

FIGURES = [f for f, _ in LOAD_FIGURES] + ["fresh"]

# figure -> [(metric, label, higher-is-better)] shown in the table, in order
TABLE = [
    ("h1_small", [("rps", "HTTP/1.1 small (wrk -c%d) req/s" % H1_CONNS, True),
                  ("p50_ms", "  p50 ms", False), ("p99_ms", "  p99 ms", False),
                  ("lb_cpu_us_per_req", "  LB CPU us/req", False)]),
    ("h2_small", [("rps", "HTTP/2 small (h2load -c%d -m%d) req/s" % (H2_CONNS, H2_STREAMS), True),
                  ("p50_ms", "  p50 ms", False), ("p99_ms", "  p99 ms", False),
                  ("lb_cpu_us_per_req", "  LB CPU us/req", False)]),
    ("bulk", [("mib_s", "1 MiB responses (wrk -c%d) MiB/s" % BULK_CONNS, True),
              ("lb_cpu_s_per_gib", "  LB CPU s/GiB", False)]),
    ("newconn", [("conn_s", "new TLS conns/s (wrk -c%d, close)" % NEWCONN_CONNS, True),
                 ("lb_cpu_us_per_conn", "  LB CPU us/conn", False)]),
    ("seq", [("p50_ms", "one connection, sequential: p50 ms", False), ("p99_ms", "  p99 ms", False),
             ("added_p50_ms", "  added p50 ms over direct", False),
             ("added_p99_ms", "  added p99 ms over direct", False)]),
    ("fresh", [("first_byte_ms", "start to first proxied byte ms", False),
               ("idle_rss_mib", "LB RSS started, idle, MiB", False),
               ("kib_per_conn", "idle conns: LB RSS KiB/conn", False),
               ("usable_at_end", "  idle conns usable at end", True)]),
]


# ---------------------------------------------------------------- rounds and report

def idle_noise(seconds=1.0):
    """Busy cores over a gap where this run is idle: what the rest of the machine is doing."""
    b0, t0 = system_busy_s(), time.monotonic()
    time.sleep(seconds)
    b1, t1 = system_busy_s(), time.monotonic()
    return {k: round((b1[k] - b0[k]) / (t1 - t0), 3) for k in b1 if not k.endswith(".irq")}


def measure(run, figures):
    secs, rounds = run.mode["seconds"], run.mode["rounds"]
    targets = [t for t in TARGETS if t not in run.skipped]
    results = []
    for rnd in range(rounds):
        order = targets[rnd % len(targets):] + targets[:rnd % len(targets)]
        log("round %d/%d, order %s" % (rnd + 1, rounds, " -> ".join(order)))
        rec = {"round": rnd + 1, "order": order, "idle_noise_cores": idle_noise(), "figures": {}}
        for fig, fn in LOAD_FIGURES:
            if fig not in figures:
                continue
            rec["figures"][fig] = {}
            for target in order:
                time.sleep(0.5)
                try:
                    r = fn(run, target, secs)
                except RuntimeError as e:
                    r = {"error": str(e)}
                rec["figures"][fig][target] = r
                log("  %-9s %-8s %s" % (fig, target, brief(fig, r)))
        seq = rec["figures"].get("seq", {})
        for target in seq:
            for q in ("p50_ms", "p99_ms"):
                if seq.get("direct", {}).get(q) is not None and seq[target].get(q) is not None:
                    seq[target]["added_" + q] = round(seq[target][q] - seq["direct"][q], 3)
        rec["figures"]["fresh"] = {}
        for target in order:
            if target == "direct" or "fresh" not in figures:
                continue
            r = fig_fresh(run, target, run.mode["idle"])
            rec["figures"]["fresh"][target] = r
            log("  %-9s %-8s %s" % ("fresh", target, brief("fresh", r)))
        results.append(rec)
    return results


def brief(fig, r):
    if "error" in r:
        return "ERROR " + r["error"].splitlines()[0]
    keys = [m for f, ms in TABLE if f == fig for m, _, _ in ms] + ["lb_cpu_s", "noise_cores", "errors"]
    return " ".join("%s=%s" % (k, r[k]) for k in keys if r.get(k) is not None)


def medians(results):
    out = {}
    for fig, metrics in TABLE:
        out[fig] = {}
        for target in TARGETS:
            vals = {}
            keys = set()
            for rec in results:
                keys.update(rec["figures"].get(fig, {}).get(target, {}).keys())
            for k in sorted(keys):
                xs = [rec["figures"][fig][target][k] for rec in results
                      if isinstance(rec["figures"].get(fig, {}).get(target, {}).get(k), (int, float))]
                if xs:
                    vals[k] = round(statistics.median(xs), 3)
            if vals:
                out[fig][target] = vals
    return out


def ratios(med):
    out = {}
    for fig, metrics in TABLE:
        for m, _, _ in metrics:
            v = {t: med.get(fig, {}).get(t, {}).get(m) for t in TARGETS}
            r = {}
            for name, a, b in (("apilb/haproxy", "apilb", "haproxy"), ("haproxy/direct", "haproxy", "direct"),
                               ("apilb/direct", "apilb", "direct")):
                if v[a] is not None and v[b] and not m.startswith("added_"):
                    r[name] = round(v[a] / v[b], 3)
            if r:
                out["%s.%s" % (fig, m)] = r
    return out


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return "%.0f" % v
        if abs(v) >= 10:
            return "%.1f" % v
        return "%.3g" % v
    return str(v)


def print_table(run, med, rat, meta):
    print()
    print("apilb bench (%s): %d round(s) x %ds per figure; medians over rounds" %
          (meta["mode"], run.mode["rounds"], run.mode["seconds"]))
    print("machine: %d cores, %s; %s" % (meta["cores"], meta["cpu_model"], meta["pinning"]))
    print("direct = client -> one nginx backend (m1); haproxy/apilb = client -> LB -> m1..m3 round robin")
    print("apilb: %s; a log line per connection: %s" %
          (run.apilb_description(), "off" if run.args.no_access_logs else "on, both LBs"))
    if run.skipped:
        for t, why in run.skipped.items():
            print("skipped %s: %s" % (t, why.splitlines()[0]))
    hdr = "%-40s %10s %10s %10s  %9s %9s %9s" % ("figure", "direct", "haproxy", "apilb",
                                                  "apilb/HAP", "HAP/dir", "apilb/dir")
    print(hdr)
    print("-" * len(hdr))
    for fig, metrics in TABLE:
        for m, label, _ in metrics:
            v = [med.get(fig, {}).get(t, {}).get(m) for t in TARGETS]
            r = rat.get("%s.%s" % (fig, m), {})
            print("%-40s %10s %10s %10s  %9s %9s %9s" % (
                label, fmt(v[0]), fmt(v[1]), fmt(v[2]),
                fmt(r.get("apilb/haproxy")), fmt(r.get("haproxy/direct")), fmt(r.get("apilb/direct"))))
    noise = [rec["idle_noise_cores"]["cpu"] for rec in meta["rounds_noise"]]
    win = [r["noise_cores"] for rec in meta["all_windows"] for r in [rec] if r.get("noise_cores") is not None]
    irq = [r["irq_cores"] for r in meta["all_windows"] if r.get("irq_cores") is not None]
    print("-" * len(hdr))
    print("noise (cores busy with processes this run did not start): %s in idle gaps, %s during"
          " measured windows (max %s), %s on the LB's core; medians" % (
              fmt(statistics.median(noise)) if noise else "-",
              fmt(statistics.median(win)) if win else "-", fmt(max(win)) if win else "-",
              fmt(statistics.median(meta["lb_core_noise"])) if meta["lb_core_noise"] else "-"))
    print("kernel irq/softirq time (loopback traffic, charged to no process): %s cores (median)" %
          (fmt(statistics.median(irq)) if irq else "-"))
    print("errors: %s" % (meta["errors"] or "none"))
    print("idle connections held per round: %d" % run.mode["idle"])
    print("raw figures: %s" % meta["json_path"])


def tool_version(argv):
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10).stdout
        return out.decode(errors="replace").strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return None


def machine_meta(run):
    model = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": run.cores, "cpu_model": model, "kernel": platform.release(),
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
        "pinning": ("LB pinned to cpu %d (taskset -c %d); load generator, backends and driver on cpu %d"
                    % (run.lb_cpu, run.lb_cpu, run.load_cpu)) if run.pinned else "not pinned",
        "versions": {"haproxy": tool_version(["haproxy", "-v"]), "nginx": tool_version(["nginx", "-v"]),
                     "wrk": tool_version(["wrk", "-v"]), "h2load": tool_version(["h2load", "--version"]),
                     "java": tool_version(["java", "-version"]), "openssl": tool_version(["openssl", "version"]),
                     "python": sys.version.split()[0]},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--smoke", action="store_true", help="a few seconds per figure, one round (CI)")
    ap.add_argument("--seconds", type=int, help="override seconds per load figure")
    ap.add_argument("--rounds", type=int, help="override number of rounds")
    ap.add_argument("--idle-conns", type=int, help="idle connections to hold (0 skips the idle figure)")
    ap.add_argument("--figures", default=",".join(FIGURES),
                    help="comma list among %s (default: all)" % ",".join(FIGURES))
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma list among direct,haproxy,apilb")
    ap.add_argument("--dist", help="apilb runtime tarball, started with its bin/apilb (default: the one "
                                   "the build made, lb-app/target/apilb-*-linux-x86_64.tar.gz)")
    ap.add_argument("--jar", help="run this jar with java -jar and the shipped JVM flags instead of the "
                                  "tarball (default when no tarball was built: lb-app/target/apilb.jar)")
    ap.add_argument("--java-opts", default=os.environ.get("APILB_JAVA_OPTS", ""),
                    help="more JVM options for apilb, after the shipped ones (conf/jvm.options), so "
                         "they override them (default: $APILB_JAVA_OPTS)")
    ap.add_argument("--apilb-extra-yaml", default="", help="YAML appended to the apilb config")
    ap.add_argument("--no-access-logs", action="store_true",
                    help="neither LB writes a line per connection (by default both do, to stdout)")
    ap.add_argument("--key-type", choices=("rsa", "ec"), default="rsa",
                    help="server key: rsa (2048, kubeadm's default) or ec (P-256)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    run = Run(args)
    wanted = [t.strip() for t in args.targets.split(",") if t.strip()]
    for t in TARGETS:
        if t not in wanted:
            run.skipped[t] = "not in --targets"
    if "apilb" in wanted and run.dist:
        if not os.path.isfile(run.dist):
            raise SystemExit("--dist: %s not found" % run.dist)
    elif "apilb" in wanted and not os.path.isfile(run.jar):
        run.skipped["apilb"] = ("%s not found (build it: mvn -B -q -DskipTests package)" % run.jar)
        log("apilb: SKIPPED, " + run.skipped["apilb"])
    elif "apilb" in wanted:
        log("apilb: no runtime tarball (it needs JDK 25's jlink at build time); running %s with java -jar"
            % run.jar)
    if "direct" in run.skipped:
        raise SystemExit("direct is the reference every ratio needs; keep it in --targets")
    if run.pinned:
        # the driver itself stays off the LB's core
        os.sched_setaffinity(0, {run.load_cpu})
    idle = run.mode["idle"]
    if idle and idle * 2 + 500 > hard:
        run.mode["idle"] = max(0, (hard - 500) // 2)
        log("open-files hard limit %d: holding %d idle connections instead of %d" % (hard, run.mode["idle"], idle))

    machine = machine_meta(run)
    meta = dict(machine)
    meta["mode"] = "smoke" if args.smoke else "full"
    log("work dir %s; %s" % (run.work, meta["pinning"]))
    run.pki = make_pki(run.work, args.key_type)
    if run.dist and "apilb" not in run.skipped:
        run.unpack_dist()
        # the Java apilb runs on is the tarball's own, not the machine's
        machine["versions"]["java"] = tool_version(
            [os.path.join(os.path.dirname(os.path.dirname(run.launcher)), "runtime", "bin", "java"), "-version"])
    run.start_backends()
    run.start_long_lived_lbs()

    warm = run.mode["warmup"]
    for target in LBS:
        if target in run.lb:
            # every path a figure takes (keep-alive, HTTP/2, connection churn, bulk) runs long
            # enough for a JIT to compile it before anything is recorded
            log("warm-up %s: %ds each of HTTP/1.1, HTTP/2, new connections, 1 MiB (not recorded)"
                % (target, warm))
            url = "https://%s:%d/version" % (HOST, run.port_of(target))
            run_wrk(run, url, H1_CONNS, warm)
            run_h2load(run, url, H2_CONNS, H2_STREAMS, warm)
            run_wrk(run, url, NEWCONN_CONNS, warm, headers=("Connection: close",))
            run_wrk(run, url.replace("/version", "/blob"), BULK_CONNS, warm)

    started = time.time()
    figures = [f.strip() for f in args.figures.split(",") if f.strip()]
    unknown = sorted(set(figures) - set(FIGURES))
    if unknown:
        raise SystemExit("--figures: %s (expected: %s)" % (",".join(unknown), ",".join(FIGURES)))
    results = measure(run, figures)
    med = medians(results)
    rat = ratios(med)

    windows = [r for rec in results for f in rec["figures"].values() for r in f.values()]
    meta["all_windows"] = windows
    meta["rounds_noise"] = results
    meta["lb_core_noise"] = [r["lb_core_noise"] for r in windows if r.get("lb_core_noise") is not None]
    errors = {}
    for rec in results:
        for fig, per_t in rec["figures"].items():
            for t, r in per_t.items():
                if r.get("errors") or r.get("error") or r.get("open_failed"):
                    errors.setdefault("%s/%s" % (fig, t), []).append(
                        r.get("error", "").splitlines()[0] if r.get("error") else r.get("errors") or r.get("open_failed"))
    meta["errors"] = errors
    meta["json_path"] = os.path.relpath(args.out, os.getcwd())

    doc = {
        "machine": machine, "mode": meta["mode"],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "settings": {"seconds_per_figure": run.mode["seconds"], "rounds": run.mode["rounds"],
                     "idle_connections": run.mode["idle"], "warmup_seconds": warm,
                     "h1_conns": H1_CONNS, "h2_conns": H2_CONNS, "h2_streams": H2_STREAMS,
                     "bulk_conns": BULK_CONNS, "newconn_conns": NEWCONN_CONNS, "key_type": args.key_type,
                     "java_opts": args.java_opts, "apilb_extra_yaml": args.apilb_extra_yaml,
                     "access_logs": not args.no_access_logs,
                     "apilb": None if "apilb" in run.skipped else run.apilb_description(),
                     "repo_commit": tool_version(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]),
                     "direct": "one backend (m1): wrk and h2load take a single address"},
        "skipped": run.skipped, "rounds": results, "medians": med, "ratios": rat, "errors": errors,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=2)
    print_table(run, med, rat, meta)


def on_signal(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        main()
    finally:
        # a second signal (Ctrl-C reaches run.sh too, which forwards TERM) must not cut cleanup short
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        PROCS.stop_all()
