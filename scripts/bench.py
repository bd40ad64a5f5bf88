#!/usr/bin/env python3
"""Whole-process benchmark of epicevents at two sizes, directly and through a server.

    python3 scripts/bench.py            # full size and one tenth, prints Markdown tables
    python3 scripts/bench.py --write    # also puts them in docs/performance.md

For each size it builds nothing by hand: a zero-config cluster in a temporary EPICCRM_DATA_DIR
(`db migrate`), `db seed --scale S` (1,000 employees, 100,000 clients, 300,000 contracts,
1,000,000 events at scale 1), logins for a manager, a salesperson and a support employee, then
runs each command many times and reports the median and p95 wall time and the peak RSS of the
process (GNU time; hyperfine cannot report memory). Standard library only.

At full size it also measures (spec §10-§12):
- server mode: `epicevents serve` on the same database, the CLI with only EPICCRM_SERVER,
  whole-process times and the peak RSS of both sides of `event list --all --json`;
- the server alone under 50 concurrent connections (`wrk`, Debian package `wrk`);
- PgBouncer 1.18 in transaction mode (Debian package `pgbouncer`) against the same
  DATABASE_URL without it;
- `whoami` with the session in GNOME Keyring (Debian packages `gnome-keyring`, `dbus-daemon`)
  against the token file;
- `db backup`: time and size.
A missing tool skips its section with a note on stderr; nothing else is skipped.
"""
import argparse, glob, json, os, platform, pwd, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "epicevents")


def build():
    env = dict(os.environ, SQLX_OFFLINE="true")
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, env=env, check=True)
    # a private copy: the server account must be able to run nothing of ours, but we may be
    # root and the data directory must be reachable by `postgres`
    return BIN


class World:
    def __init__(self, scale):
        self.dir = tempfile.mkdtemp(prefix="epicevents-bench-")
        os.chmod(self.dir, 0o755)
        self.scale = scale
        self.homes = {}
        self.extra_env = {}
        self.logins = {}
        self.seed_seconds = None
        self.cleanups = []

    def env(self, who="root"):
        home = self.homes.get(who, self.dir)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "TZ": "UTC", "NO_COLOR": "1",
               "EPICCRM_DATA_DIR": os.path.join(self.dir, "data"), "EPICCRM_TOKEN_STORE": "file"}
        env.update(self.extra_env.get(who, {}))
        return env

    def add_user(self, who, like, extra):
        """A home of its own for `who`, logged in as `like`'s employee, with `extra` settings."""
        home = os.path.join(self.dir, who)
        os.makedirs(home, exist_ok=True)
        self.homes[who] = home
        self.extra_env[who] = extra
        self.run(["login", self.logins[like]], who, stdin=self.password + "\n")

    def run(self, args, who="root", stdin=None, check=True):
        p = subprocess.run([BIN] + args, env=self.env(who), cwd=self.dir, input=stdin,
                           capture_output=True, text=True)
        if check and p.returncode != 0:
            sys.exit(f"epicevents {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
        return p

    def setup(self):
        self.run(["db", "migrate"])
        t = time.perf_counter()
        out = json.loads(self.run(["--json", "db", "seed", "--scale", str(self.scale)]).stdout)
        self.seed_seconds = time.perf_counter() - t
        self.checkpoint()
        self.counts = {k: out[k] for k in ("employees", "clients", "contracts", "events")}
        self.password = out["password"]
        for who, eid in (("manager", out["management_id"]), ("sales", out["sales_id"]),
                         ("support", out["support_id"])):
            self.logins[who] = f"employee{eid}@bench.example"
            self.add_user(who, who, {})
        self.email = "employee1@bench.example"
        owned = json.loads(self.run(["--json", "contract", "list", "--mine", "--limit", "200"], "sales").stdout)
        self.contract = max(owned, key=lambda c: float(c["amount_due"]))["id"]
        mine = json.loads(self.run(["--json", "event", "list", "--mine", "--limit", "1"], "support").stdout)
        self.event = mine[0]["id"]
        self.client = self.counts["clients"] // 2
        last = json.loads(self.run(["--json", "event", "list", "--limit", "1",
                                    "--offset", str(self.counts["events"] - 1)], "manager").stdout)
        self.last_event = last[0]["id"] if last else self.counts["events"]
        # the event 60 before the end in start order: `--after` it is a page at the millionth
        by_start = json.loads(self.run(["--json", "event", "list", "--sort", "start", "--limit", "1",
                                        "--offset", str(max(self.counts["events"] - 60, 0))],
                                       "manager").stdout)
        self.last_by_start = by_start[0]["id"] if by_start else 1
        # a payment history for `contract payments` (seeded contracts have none: §16)
        for _ in range(10):
            self.run(["contract", "pay", str(self.contract), "0.01"], "sales")

    def checkpoint(self):
        """Write out what the seed left in shared buffers now, so that the checkpoint PostgreSQL
        would start on its own does not run (and slow everything) during the first timings."""
        psql = shutil.which("psql") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))), None)
        if not psql:
            note("psql not found: no checkpoint after seeding, the first timings may be slower")
            return
        sockdir = os.path.join(self.dir, "data", "postgres", "run")
        _, _, prefix = as_postgres_if_root()
        subprocess.run(prefix + [psql, "-X", "-q", "-h", sockdir, "-U", "postgres", "-d", "epicevents",
                                 "-c", "checkpoint"], check=True, stdin=subprocess.DEVNULL)

    def close(self):
        for c in reversed(self.cleanups):
            try:
                c()
            except Exception as e:  # a cleanup that fails must not hide the others
                print(f"cleanup: {e}", file=sys.stderr)
        self.run(["db", "stop"], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


def measure(world, who, args, runs, stdin=None, binary=None):
    """Median and p95 wall time (ms) and peak RSS (MiB) over `runs` runs.

    The peak RSS comes from GNU time, which forks the command from its own small process:
    a child forked from this Python process would count Python's memory in its high-water
    mark. Without /usr/bin/time (Debian package `time`), the RSS column is not reported."""
    times, rss = [], []
    fd, rss_file = tempfile.mkstemp(prefix="epicevents-rss-")
    os.close(fd)
    # timed runs go straight to the binary; a few more runs under GNU time give the RSS
    extra = min(3, runs) if GNU_TIME else 0
    for i in range(runs + extra):
        argv = [a.replace("{i}", f"{os.getpid()}-{i}-{time.time_ns()}") for a in args]
        cmd = [binary or BIN] + argv
        timed = i < runs
        if not timed:
            cmd = [GNU_TIME, "-f", "%M", "-o", rss_file, "--"] + cmd
        t = time.perf_counter()
        p = subprocess.Popen(cmd, env=world.env(who), cwd=world.dir,
                             stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if stdin:
            p.stdin.write(stdin.encode())
            p.stdin.close()
        err = p.stderr.read()
        code = p.wait()
        elapsed = (time.perf_counter() - t) * 1000
        if code != 0:
            sys.exit(f"{' '.join(argv)} failed ({code}): {err.decode().strip()}")
        if timed:
            times.append(elapsed)
        else:
            rss.append(int(open(rss_file).read().split()[-1]) / 1024)
    os.unlink(rss_file)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return statistics.median(times), p95, (max(rss) if rss else float("nan"))


def cases(w):
    return [
        ("whoami", "manager", ["whoami"], 40, None),
        ("client list", "manager", ["client", "list"], 40, None),
        ("client list --search", "manager", ["client", "list", "--search", "client4242@"], 40, None),
        ("contract list --unpaid", "manager", ["contract", "list", "--unpaid"], 40, None),
        ("event list --no-support", "manager", ["event", "list", "--no-support"], 40, None),
        ("event list --mine (SUPPORT)", "support", ["event", "list", "--mine"], 40, None),
        ("event list --mine (SALES)", "sales", ["event", "list", "--mine"], 40, None),
        ("client show", "manager", ["client", "show", str(w.client)], 40, None),
        ("client create", "sales", ["client", "create", "Bench", "Client", "bench{i}@bench.example"], 40, None),
        ("contract pay", "sales", ["contract", "pay", str(w.contract), "0.01"], 40, None),
        ("event update", "support", ["event", "update", str(w.event), "--notes", "run {i}"], 40, None),
        ("login", "manager", ["login", w.email], 15, w.password + "\n"),
        ("client list --all --json", "manager", ["--json", "client", "list", "--all"], 3, None),
        ("event list --all --json", "manager", ["--json", "event", "list", "--all"], 3, None),
        ("event list --all --csv", "manager", ["--csv", "event", "list", "--all"], 3, None),
        ("event list --all --ics", "manager", ["event", "list", "--all", "--ics"], 3, None),
        ("event list", "manager", ["event", "list"], 40, None),
        ("event list --after (last page)", "manager",
         ["event", "list", "--after", str(w.last_event - 60)], 40, None),
        ("event list --offset 900000", "manager",
         ["event", "list", "--offset", str(w.counts["events"] * 9 // 10)], 10, None),
        # spec §16: lists by date, keyset pages in start order, show and payments
        ("event list --upcoming", "manager", ["event", "list", "--upcoming"], 40, None),
        ("event list --sort start", "manager", ["event", "list", "--sort", "start"], 40, None),
        ("event list --sort start --after (last page)", "manager",
         ["event", "list", "--sort", "start", "--after", str(w.last_by_start)], 40, None),
        ("event list --from --to (a month)", "manager",
         ["event", "list", "--from", "2026-06-01", "--to", "2026-06-30"], 40, None),
        ("client show (contracts, events)", "manager", ["client", "show", str(w.client)], 40, None),
        ("contract payments", "manager", ["contract", "payments", str(w.contract)], 40, None),
    ]


SERVER_CASES = ["whoami", "client list", "client list --search", "contract list --unpaid",
                "event list --no-support", "event list --mine (SUPPORT)", "event list --mine (SALES)",
                "client show", "client create", "contract pay", "event update", "login",
                "event list --all --json"]
POOLER_CASES = ["whoami", "client list", "contract list --unpaid", "event list --no-support",
                "event list --mine (SUPPORT)", "event list --mine (SALES)", "client show",
                "client create", "contract pay"]


def case(w, name, prefix):
    """The direct case `name`, run as `prefix` + its role (e.g. `srv-manager`)."""
    for n, who, args, runs, stdin in cases(w):
        if n == name:
            return n, prefix + who, args, runs, stdin
    raise KeyError(name)


# ---- --compare OLD: this build against another, in the same run -----------------------
COMPARE_CASES = ["whoami", "client list", "contract list --unpaid", "event list --no-support",
                 "event list"]


def compare_section(w, old_bin, rounds=6, runs=10):
    """`whoami` and first pages, the old binary and this one taking turns (`rounds` blocks of
    `runs` each), so that a machine that slows down or speeds up meanwhile weighs on both."""
    rows = []
    for name in COMPARE_CASES:
        _, who, args, _, stdin = case(w, name, "")
        times = {"old": [], "new": []}
        for _ in range(rounds):
            for label, binary in (("old", old_bin), ("new", BIN)):
                med, _, _ = measure(w, who, args, runs, stdin, binary=binary)
                times[label].append(med)
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        rows.append((name, old, new))
        print(f"  {name:<30} old {old:7.1f} ms  new {new:7.1f} ms  {100 * (new / old - 1):+5.1f} %", file=sys.stderr)
    lines = ["| command | old median ms | new median ms | change |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| `{n}` | {o:.1f} | {x:.1f} | {100 * (x / o - 1):+.1f} % |" for n, o, x in rows]
    return lines


# ---- full size only: server mode, load, pooler, keyring, backup --------------------------

def note(msg):
    print(f"  note: {msg}", file=sys.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def reset_peak_rss(pid):
    # Linux: "5" resets the high-water mark that VmHWM reports
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def peak_rss(pid, field="VmHWM"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(w):
    """`epicevents serve` on the world's zero-config database: (url, pid)."""
    for _ in range(5):
        port = free_port()
        env = dict(w.env(), EPICCRM_LISTEN=f"127.0.0.1:{port}")
        log = open(os.path.join(w.dir, "server.log"), "a")
        p = subprocess.Popen([BIN, "serve"], env=env, cwd=w.dir, stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log)
        if wait_port(port, p):
            def stop(p=p):
                p.send_signal(signal.SIGTERM)
                p.wait(30)
            w.cleanups.append(stop)
            return f"http://127.0.0.1:{port}", p.pid
        p.kill()
    sys.exit("epicevents serve did not start: " + open(os.path.join(w.dir, "server.log")).read())


def server_section(w, out):
    url, pid = start_server(w)
    out["server_rss_idle"] = peak_rss(pid, "VmRSS")
    for who in ("manager", "sales", "support"):
        w.add_user("srv-" + who, who, {"EPICCRM_SERVER": url})
    out["server_rss_logins"] = (peak_rss(pid), peak_rss(pid, "VmRSS"))
    for name in SERVER_CASES:
        _, who, args, runs, stdin = case(w, name, "srv-")
        if "--all" in name:
            reset_peak_rss(pid)
        med, p95, rss = measure(w, who, args, runs, stdin)
        srv = peak_rss(pid) if "--all" in name else None
        out["server"].append((name, med, p95, rss, srv))
        print(f"  server: {name:<30} median {med:8.1f} ms  p95 {p95:8.1f} ms  client RSS {rss:5.1f} MiB"
              + (f"  server peak RSS {srv:5.1f} MiB" if srv else ""), file=sys.stderr)
    load_section(w, url, pid, out)


def wrk_ms(text, pct):
    m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]


def load_section(w, url, pid, out):
    wrk = shutil.which("wrk")
    if not wrk:
        note("wrk is not installed (apt-get install wrk): no load figures")
        return
    w.run(["whoami"], "srv-manager")  # a fresh access token in the file
    tokens = glob.glob(os.path.join(w.homes["srv-manager"], ".config", "epiccrm", "tokens-*.json"))
    access = json.load(open(tokens[0]))["access"]
    base = [wrk, "-t2", "-c50", "--latency", "-H", f"Authorization: Bearer {access}"]
    subprocess.run(base + ["-d3s", url + "/v1/me"], capture_output=True, check=True)  # warm-up
    reset_peak_rss(pid)
    p = subprocess.run(base + ["-d20s", url + "/v1/me"], capture_output=True, text=True, check=True)
    if "Non-2xx" in p.stdout or "Socket errors" in p.stdout:
        sys.exit("wrk saw failed requests:\n" + p.stdout)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", p.stdout).group(1))
    out["load"] = (rps, wrk_ms(p.stdout, 50), wrk_ms(p.stdout, 99), peak_rss(pid))
    print(f"  load: {rps:.0f} req/s, p50 {out['load'][1]:.2f} ms, p99 {out['load'][2]:.2f} ms, "
          f"server peak RSS {out['load'][3]:.1f} MiB", file=sys.stderr)


def as_postgres_if_root():
    """(uid, gid, argv prefix) to run PgBouncer, which refuses root, as `postgres`."""
    if os.geteuid() != 0:
        return None, None, []
    pw = pwd.getpwnam("postgres")
    return pw.pw_uid, pw.pw_gid, ["runuser", "-u", "postgres", "--"]


def pooler_section(w, out):
    exe = shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None)
    if not exe:
        note("pgbouncer is not installed (apt-get install pgbouncer): no pooler figures")
        return
    sockdir = os.path.join(w.dir, "data", "postgres", "run")
    d = os.path.join(w.dir, "pgbouncer")
    os.makedirs(d)
    port = free_port()
    open(os.path.join(d, "userlist.txt"), "w").write('"postgres" ""\n')
    open(os.path.join(d, "pgbouncer.ini"), "w").write(
        f"[databases]\n* = host={sockdir} port=5432 user=postgres\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {d}/userlist.txt\npool_mode = transaction\n"
        f"ignore_startup_parameters = extra_float_digits\ndefault_pool_size = 10\n"
        f"max_client_conn = 200\nlogfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n")
    uid, gid, prefix = as_postgres_if_root()
    if uid is not None:
        for f in ("", "userlist.txt", "pgbouncer.ini"):
            os.chown(os.path.join(d, f), uid, gid)
    subprocess.run(prefix + [exe, "-d", os.path.join(d, "pgbouncer.ini")], check=True,
                   stdin=subprocess.DEVNULL)

    def stop():
        pid = int(open(os.path.join(d, "pgbouncer.pid")).read().strip())
        os.kill(pid, signal.SIGTERM)
        for _ in range(250):
            try:
                os.kill(pid, 0)
                time.sleep(0.02)
            except OSError:
                break
    w.cleanups.append(stop)
    if not wait_port(port):
        sys.exit("PgBouncer did not start: " + open(os.path.join(d, "pgbouncer.log")).read())
    secret = os.urandom(24).hex()
    direct = f"postgres:///epicevents?host={sockdir}&port=5432&user=postgres"
    pooled = f"postgres://postgres@127.0.0.1:{port}/epicevents"
    for prefix_, url in (("url-", direct), ("pgb-", pooled)):
        for who in ("manager", "sales", "support"):
            w.add_user(prefix_ + who, who, {"DATABASE_URL": url, "EPICCRM_JWT_SECRET": secret})
    for name in POOLER_CASES:
        a = measure(w, *case(w, name, "url-")[1:])
        b = measure(w, *case(w, name, "pgb-")[1:])
        out["pooler"].append((name, a[0], b[0]))
        print(f"  pooler: {name:<30} direct {a[0]:7.1f} ms  PgBouncer {b[0]:7.1f} ms  "
              f"{b[0] / a[0]:.2f}x", file=sys.stderr)


def keyring_section(w, out):
    missing = [t for t in ("dbus-daemon", "gnome-keyring-daemon") if not shutil.which(t)]
    if missing:
        note(f"{', '.join(missing)} not installed (apt-get install dbus-daemon gnome-keyring): "
             "no keyring figures")
        return
    home = os.path.join(w.dir, "keyring-home")
    runtime = os.path.join(w.dir, "keyring-run")
    os.makedirs(home)
    os.makedirs(runtime, mode=0o700)
    env = dict(PATH=os.environ.get("PATH", ""), HOME=home, XDG_RUNTIME_DIR=runtime)
    p = subprocess.run(["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
                       env=env, capture_output=True, text=True, check=True)
    address, bus_pid = p.stdout.split("\n")[:2]
    w.cleanups.append(lambda: os.kill(int(bus_pid), signal.SIGTERM))
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets"], env=env,
                   input=b"bench-keyring-password", capture_output=True, check=True)
    w.add_user("kr-manager", "manager", {"EPICCRM_TOKEN_STORE": "keyring",
                                         "DBUS_SESSION_BUS_ADDRESS": address})
    if os.path.exists(os.path.join(w.homes["kr-manager"], ".config", "epiccrm", "tokens.json")):
        sys.exit("the keyring login wrote a token file")
    kr = measure(w, "kr-manager", ["whoami"], 40)
    fl = measure(w, "manager", ["whoami"], 40)
    out["keyring"] = (kr, fl)
    print(f"  whoami: keyring {kr[0]:.1f} ms, file {fl[0]:.1f} ms", file=sys.stderr)


def backup_section(w, out):
    path = os.path.join(w.dir, "bench.dump")
    t = time.perf_counter()
    w.run(["db", "backup", path])
    secs = time.perf_counter() - t
    out["backup"] = (secs, os.path.getsize(path) / (1024 * 1024))
    os.unlink(path)
    print(f"  db backup: {secs:.1f} s, {out['backup'][1]:.1f} MiB", file=sys.stderr)


def extras_markdown(out):
    lines = ["", "### Through a server (`EPICCRM_SERVER`, loopback, plain HTTP)", "",
             "Whole CLI process; the server (`epicevents serve`, zero-config database, pool of 10) "
             f"runs beside it. Server RSS: {out['server_rss_idle']:.1f} MiB once started; "
             f"{out['server_rss_logins'][0]:.1f} MiB at most during three logins (argon2id takes 19 MiB "
             f"per hash), {out['server_rss_logins'][1]:.1f} MiB after them.", "",
             "| command | median ms | p95 ms | client peak RSS MiB | server peak RSS MiB |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, med, p95, rss, srv in out["server"]:
        lines.append(f"| `{name}` | {med:.1f} | {p95:.1f} | {rss:.1f} | {'' if srv is None else f'{srv:.1f}'} |")
    if "load" in out:
        rps, p50, p99, rss = out["load"]
        lines += ["", "The server alone, `GET /v1/me` (whoami) with one access token, 50 connections, "
                  "20 s after a 3 s warm-up (`wrk -t2 -c50 --latency`, on the same 2 cores as the "
                  "server and PostgreSQL):", "",
                  "| requests/s | p50 ms | p99 ms | server peak RSS MiB |", "| ---: | ---: | ---: | ---: |",
                  f"| {rps:,.0f} | {p50:.2f} | {p99:.2f} | {rss:.1f} |"]
    if out["pooler"]:
        lines += ["", "### Through PgBouncer 1.18 in transaction mode", "",
                  "The same commands with `DATABASE_URL` to the cluster's socket, and to PgBouncer "
                  "(TCP on loopback, then the same socket; pool of 10):", "",
                  "| command | direct median ms | PgBouncer median ms | ratio |", "| --- | ---: | ---: | ---: |"]
        for name, a, b in out["pooler"]:
            lines.append(f"| `{name}` | {a:.1f} | {b:.1f} | {b / a:.2f}× |")
    if "keyring" in out:
        kr, fl = out["keyring"]
        lines += ["", "### Where the session is kept", "",
                  "| `whoami` with the session in | median ms | p95 ms | peak RSS MiB |",
                  "| --- | ---: | ---: | ---: |",
                  f"| GNOME Keyring (Secret Service over D-Bus) | {kr[0]:.1f} | {kr[1]:.1f} | {kr[2]:.1f} |",
                  f"| the token file | {fl[0]:.1f} | {fl[1]:.1f} | {fl[2]:.1f} |"]
    if "backup" in out:
        secs, mib = out["backup"]
        lines += ["", f"`db backup` of the full-size database (custom format, compressed): "
                  f"{secs:.1f} s, {mib:.1f} MiB."]
    return lines


# ---- --import: `db import` from a database of the original's schema (spec §14) ------------

ORIGINAL_SCHEMA = os.path.join(ROOT, "tests", "fixtures", "python-original", "python_schema_0d47bbb3cd0c.sql")
# the original's hash of "Secret123!" (argon2-cffi defaults), for every generated employee
PYTHON_HASH = "$argon2id$v=19$m=65536,t=3,p=4$SE8xpgi/USv+eCkj1IjUMg$xgO9R2c5zh92FT9rgBRxgd47py66kB36LdfzZXrASCs"


def original_rows_sql(scale):
    """The benchmark's company (as `db seed`: 1,000 employees, 100,000 clients, 300,000
    contracts, 1,000,000 events at scale 1) in the original's schema, every row valid, with
    its sequences ahead of the highest ids as a real one's are."""
    e, c, k, v = (max(1, int(n * scale)) for n in (1000, 100_000, 300_000, 1_000_000))
    sales = max(1, e * 45 // 100)  # ids 1..5%: MANAGEMENT, then SALES, then SUPPORT
    mgmt = max(1, e // 20)
    support0 = mgmt + sales + 1
    supports = max(1, e - support0 + 1)
    return f"""
insert into employees (id, first_name, last_name, email, role, password_hash, created_at, is_active, deactivated_at, reactivated_at)
select i, 'First' || i, 'Last' || i, 'employee' || i || '@bench.example',
       (case when i <= {mgmt} then 'MANAGEMENT' when i < {support0} then 'SALES' else 'SUPPORT' end)::role,
       '{PYTHON_HASH}', '2024-01-01'::timestamptz + i * interval '1 minute', i % 97 <> 0,
       case when i % 97 = 0 then '2025-01-01'::timestamptz end, null
from generate_series(1, {e}) i;
insert into clients (id, email, phone, company_name, sales_contact_id, created_at, first_name, last_name, updated_at)
select i, 'client' || i || '@example.com', case when i % 3 = 0 then '+33 6 12 34 ' || lpad((i % 10000)::text, 4, '0') end,
       case when i % 2 = 0 then 'Company ' || i end, {mgmt} + 1 + i % {sales},
       '2024-02-01'::timestamptz + i * interval '10 seconds', 'Client' || i, 'Name' || i,
       case when i % 4 = 0 then '2025-02-01'::timestamptz + i * interval '1 second' end
from generate_series(1, {c}) i;
insert into contracts (id, client_id, sales_contact_id, total_amount, amount_due, is_signed, created_at, updated_at)
select i, 1 + i % {c}, {mgmt} + 1 + (1 + i % {c}) % {sales}, 1000 + i % 5000, (i % 3) * 100 + 0.50,
       i % 5 <> 0, '2024-03-01'::timestamptz + i * interval '5 seconds',
       case when i % 2 = 0 then '2025-03-01'::timestamptz + i * interval '1 second' end
from generate_series(1, {k}) i;
insert into events (id, contract_id, client_id, support_contact_id, start_date, end_date, location, attendees, notes, created_at, updated_at)
select i, 1 + (i * 5 + 1) % {k}, 1 + (1 + (i * 5 + 1) % {k}) % {c},
       case when i % 7 <> 0 then {support0} + i % {supports} end,
       '2025-06-01'::timestamptz + (i % 50000) * interval '1 hour', '2025-06-01'::timestamptz + (i % 50000) * interval '1 hour' + interval '3 hours',
       'Room ' || (i % 500), i % 300, case when i % 3 = 0 then 'Notes for event ' || i end,
       '2025-04-01'::timestamptz + i * interval '1 second', null
from generate_series(1, {v}) i;
select setval('employees_id_seq', {e} + 3), setval('clients_id_seq', {c} + 2),
       setval('contracts_id_seq', {k}), setval('events_id_seq', {v} + 10);
analyze;
"""


def pg_tool(name):
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        sys.exit(f"{name} not found (PostgreSQL's client programs are needed for --import)")
    return found


def import_section(scale, runs=2):
    """`db import` of the full-size company against `pg_dump --format=custom | pg_restore` of
    the same source, on the zero-config cluster: wall time of each (best of `runs`) and the
    import's peak RSS (GNU time)."""
    w = World(scale)
    try:
        w.run(["db", "migrate"])  # creates and starts the cluster
        sock = os.path.join(w.dir, "data", "postgres", "run")
        _, _, prefix = as_postgres_if_root()
        psql, pg_dump, pg_restore = pg_tool("psql"), pg_tool("pg_dump"), pg_tool("pg_restore")

        def sql(db, text=None, file=None):
            args = prefix + [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", sock, "-U", "postgres", "-d", db]
            args += ["-f", file] if file else ["-c", text]
            subprocess.run(args, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)

        print(f"scale {scale}: building a source of the original's schema…", file=sys.stderr)
        sql("postgres", "create database original")
        sql("original", file=ORIGINAL_SCHEMA)
        t = time.perf_counter()
        fd, gen = tempfile.mkstemp(prefix="epicevents-original-", suffix=".sql", dir=w.dir)
        os.write(fd, original_rows_sql(scale).encode())
        os.close(fd)
        os.chmod(gen, 0o644)
        sql("original", file=gen)
        sql("original", "checkpoint")
        print(f"  built in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        dump_times, import_times, rss = [], [], []
        for i in range(runs):
            sql("postgres", "drop database if exists copy")
            sql("postgres", "create database copy")
            t = time.perf_counter()
            subprocess.run(prefix + ["sh", "-c", f"'{pg_dump}' --format=custom -h '{sock}' -U postgres original "
                                     f"| '{pg_restore}' -h '{sock}' -U postgres -d copy"], check=True)
            dump_times.append(time.perf_counter() - t)
            sql("postgres", "drop database copy")
            sql("postgres", "checkpoint")
            sql("postgres", "drop database if exists target")
            sql("postgres", "create database target")
            target = f"postgresql://postgres@localhost/target?host={sock}"
            env = dict(w.env(), DATABASE_URL=target, EPICCRM_JWT_SECRET="bench-secret-" + "x" * 40)
            subprocess.run([BIN, "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
            fd, rss_file = tempfile.mkstemp(prefix="epicevents-rss-")
            os.close(fd)
            t = time.perf_counter()
            p = subprocess.run([GNU_TIME, "-f", "%M", "-o", rss_file, "--", BIN, "--json", "db", "import",
                                "--from", f"postgresql+psycopg2://postgres@localhost/original?host={sock}"]
                               if GNU_TIME else [BIN, "--json", "db", "import", "--from",
                                                 f"postgresql+psycopg2://postgres@localhost/original?host={sock}"],
                               env=env, capture_output=True, text=True)
            import_times.append(time.perf_counter() - t)
            if p.returncode != 0:
                sys.exit(f"db import failed ({p.returncode}): {p.stderr.strip()}")
            if GNU_TIME:
                rss.append(int(open(rss_file).read().split()[-1]) / 1024)
            os.unlink(rss_file)
            counts = json.loads(p.stdout)["counts"]
            sql("postgres", "checkpoint")
            print(f"  run {i + 1}: pg_dump | pg_restore {dump_times[-1]:.1f} s, db import {import_times[-1]:.1f} s"
                  + (f", peak RSS {rss[-1]:.1f} MiB" if rss else ""), file=sys.stderr)
        d, m = min(dump_times), min(import_times)
        n = {t: counts[t]["imported"] for t in ("employees", "clients", "contracts", "events")}
        lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
                 f"PostgreSQL local socket (zero-config cluster); release build; {time.strftime('%Y-%m-%d')}.",
                 f"Command: `python3 scripts/bench.py --import` (scale {scale}: {n['employees']:,} employees, "
                 f"{n['clients']:,} clients, {n['contracts']:,} contracts, {n['events']:,} events in the "
                 "original's schema; best of "
                 f"{runs} runs each).", "",
                 "| from the same source | seconds | ratio | peak RSS MiB |", "| --- | ---: | ---: | ---: |",
                 f"| `pg_dump --format=custom \\| pg_restore` | {d:.1f} | 1.00× | |",
                 f"| `epicevents db import` | {m:.1f} | {m / d:.2f}× | {max(rss) if rss else float('nan'):.1f} |"]
        return "\n".join(lines)
    finally:
        w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="1,0.1", help="comma-separated seed scales (default 1,0.1)")
    ap.add_argument("--write", action="store_true", help="write the results into docs/performance.md")
    ap.add_argument("--direct-only", action="store_true", help="skip the server, pooler, keyring and backup figures")
    ap.add_argument("--compare", metavar="OLD_BIN",
                    help="only compare whoami and first pages with another build of epicevents "
                         "(at the first scale), in turns")
    ap.add_argument("--only", metavar="REGEX",
                    help="only the direct cases whose name matches REGEX; with --write, their table "
                         "goes into its own section of docs/performance.md (bench-only markers)")
    ap.add_argument("--import", dest="import_only", action="store_true",
                    help="only time `db import` of the full-size company from the original's schema "
                         "against pg_dump | pg_restore of the same source (at the first scale)")
    opts = ap.parse_args()
    build()
    if opts.only:
        return only_section(opts)
    if opts.import_only:
        table = import_section(float(opts.scales.split(",")[0]))
        print(table)
        if opts.write:
            path = os.path.join(ROOT, "docs", "performance.md")
            doc = open(path).read()
            start, end = "<!-- import:start -->", "<!-- import:end -->"
            doc = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{table}\n{end}", doc, flags=re.S)
            open(path, "w").write(doc)
        return
    if opts.compare:
        w = World(float(opts.scales.split(",")[0]))
        try:
            print(f"scale {w.scale}: seeding…", file=sys.stderr)
            w.setup()
            print("\n".join(compare_section(w, os.path.abspath(opts.compare))))
        finally:
            w.close()
        return
    scales = [float(s) for s in opts.scales.split(",")]
    results, meta = {}, {}
    out = {"server": [], "pooler": []}
    for scale in scales:
        w = World(scale)
        try:
            print(f"scale {scale}: seeding…", file=sys.stderr)
            w.setup()
            meta[scale] = (w.counts, w.seed_seconds)
            for name, who, args, runs, stdin in cases(w):
                results[(scale, name)] = measure(w, who, args, runs, stdin)
                med, p95, rss = results[(scale, name)]
                print(f"  {name:<30} median {med:8.1f} ms  p95 {p95:8.1f} ms  peak RSS {rss:5.1f} MiB", file=sys.stderr)
            if scale == scales[0] and not opts.direct_only:
                backup_section(w, out)
                keyring_section(w, out)
                pooler_section(w, out)
                server_section(w, out)
        finally:
            w.close()
    full, tenth = scales[0], scales[-1]
    lines = []
    lines.append(f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
                 f"PostgreSQL local socket (zero-config cluster); release build; {time.strftime('%Y-%m-%d')}.")
    lines.append("Command: `python3 scripts/bench.py`.\n")
    for s in scales:
        c, secs = meta[s]
        lines.append(f"- scale {s}: {c['employees']:,} employees, {c['clients']:,} clients, "
                     f"{c['contracts']:,} contracts, {c['events']:,} events; seeded in {secs:.1f} s")
    lines.append("")
    head = f"| command | median ms (×{full}) | p95 ms (×{full}) | peak RSS MiB (×{full}) |"
    sep = "| --- | ---: | ---: | ---: |"
    if len(scales) > 1:
        head += f" median ms (×{tenth}) | growth |"
        sep += " ---: | ---: |"
    lines += [head, sep]
    for name, *_ in cases_names():
        med, p95, rss = results[(full, name)]
        row = f"| `{name}` | {med:.1f} | {p95:.1f} | {rss:.1f} |"
        if len(scales) > 1:
            m10 = results[(tenth, name)][0]
            row += f" {m10:.1f} | {med / m10:.2f}× |"
        lines.append(row)
    if out["server"]:
        lines += extras_markdown(out)
    table = "\n".join(lines)
    print(table)
    if opts.write:
        path = os.path.join(ROOT, "docs", "performance.md")
        doc = open(path).read()
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        doc = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{table}\n{end}", doc, flags=re.S)
        open(path, "w").write(doc)


def only_section(opts):
    """`--only REGEX`: the matching direct cases at each scale, in one run, as a table."""
    scales = [float(s) for s in opts.scales.split(",")]
    pattern = re.compile(opts.only)
    results, meta = {}, {}
    for scale in scales:
        w = World(scale)
        try:
            print(f"scale {scale}: seeding…", file=sys.stderr)
            w.setup()
            meta[scale] = (w.counts, w.seed_seconds)
            for name, who, args, runs, stdin in cases(w):
                if not pattern.search(name):
                    continue
                results[(scale, name)] = measure(w, who, args, runs, stdin)
                med, p95, rss = results[(scale, name)]
                print(f"  {name:<44} median {med:8.1f} ms  p95 {p95:8.1f} ms  peak RSS {rss:5.1f} MiB",
                      file=sys.stderr)
        finally:
            w.close()
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
             f"PostgreSQL local socket (zero-config cluster); release build; {time.strftime('%Y-%m-%d')}.",
             f"Command: `python3 scripts/bench.py --only '{opts.only}' --scales {opts.scales}"
             f"{' --write' if opts.write else ''}`.\n"]
    for s in scales:
        c, secs = meta[s]
        lines.append(f"- scale {s}: {c['employees']:,} employees, {c['clients']:,} clients, "
                     f"{c['contracts']:,} contracts, {c['events']:,} events; seeded in {secs:.1f} s")
    lines.append("")
    head, sep = "| command |", "| --- |"
    for s in scales:
        head += f" median ms (×{s}) | p95 ms (×{s}) |"
        sep += " ---: | ---: |"
    lines += [head, sep]
    for (name,) in cases_names():
        if not pattern.search(name):
            continue
        row = f"| `{name}` |"
        for s in scales:
            med, p95, _ = results[(s, name)]
            row += f" {med:.1f} | {p95:.1f} |"
        lines.append(row)
    table = "\n".join(lines)
    print(table)
    if opts.write:
        path = os.path.join(ROOT, "docs", "performance.md")
        doc = open(path).read()
        start, end = "<!-- bench-only:start -->", "<!-- bench-only:end -->"
        doc = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{table}\n{end}",
                     doc, flags=re.S)
        open(path, "w").write(doc)


def cases_names():
    class Dummy:
        client = contract = event = last_event = last_by_start = 0
        counts = {"events": 0}
        email = password = ""
    return [(c[0],) for c in cases(Dummy())]


if __name__ == "__main__":
    main()
