#!/usr/bin/env python3
"""Soak test of epicevents under faults (spec §15). Standard library only.

    python3 scripts/soak.py              # 50 clients, 60 s; prints the figures
    python3 scripts/soak.py --write      # also puts them in docs/performance.md

What it does, with the release binary (built first):
- a PostgreSQL cluster of its own (the installed server binaries, as `postgres` when root),
  migrated, seeded (`db seed --scale 0.12`: 120 employees of whom 54 salespeople, 12,000
  clients, 36,000 contracts);
- two `epicevents serve` on that database behind a round-robin TCP balancer (in this script:
  each new connection goes to the next server that accepts it);
- 50 clients, each its own terminal (HOME) logged in as a salesperson of its own (logged in
  before the clock starts), running the real CLI binary for 60 s in a loop: `contract show`, `client list`, `event list --mine`,
  `contract pay` (a payment of its own contracts, a distinct amount each time),
  `client update --phone`, `client create`;
- 15 s in, PostgreSQL is restarted (`pg_ctl restart -m fast`); 35 s in, one server gets
  SIGTERM and is started again once it has exited.
Then it checks that every write the CLI reported done is in the database exactly once, that
no payment was applied twice, and that no command failed outside the two fault windows (a
fault's start to 5 s after its end), and prints the throughput, p50/p99 of a command, the
errors by kind and the checks. It exits 1 if a check fails.

Before the soak it measures what the Idempotency-Key costs a write: the same payment sent
with and without a key over one kept-alive connection, alternately, the median of each.
"""
import argparse, glob, http.client, json, os, platform, pwd, random, re, shutil, signal, socket, statistics
import subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "epicevents")
CLIENTS, SECONDS = 50, 60
PG_RESTART_AT, SIGTERM_AT, GRACE = 15, 35, 5.0


def note(msg):
    print(msg, file=sys.stderr, flush=True)


def build():
    env = dict(os.environ, SQLX_OFFLINE="true")
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, env=env, check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def pg_bindir():
    for cand in [shutil.which("pg_config")]:
        if cand:
            out = subprocess.run([cand, "--bindir"], capture_output=True, text=True).stdout.strip()
            if os.path.exists(os.path.join(out, "initdb")):
                return out
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(re.findall(r"\d+", d)[0]))
    if dirs:
        return dirs[-1]
    sys.exit("no PostgreSQL server binaries (initdb) found")


class Postgres:
    """A cluster of this script's own, on a free TCP port, trusting local connections."""

    def __init__(self, root):
        self.bindir = pg_bindir()
        self.pgdata = os.path.join(root, "pgdata")
        self.port = free_port()
        self.prefix = []
        os.makedirs(root, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(root, pw.pw_uid, pw.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.root = root
        self.pg(["initdb", "-D", self.pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        self.start()
        self.pg(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                 "-c", "create database crm"])
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/crm"

    def pg(self, args):
        cmd = self.prefix + [os.path.join(self.bindir, args[0])] + args[1:]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/")

    def opts(self):
        return (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                "-c max_connections=200 -c fsync=off")

    def start(self):
        self.pg(["pg_ctl", "-D", self.pgdata, "-o", self.opts(), "-l",
                 os.path.join(self.root, "pg.log"), "-w", "start"])

    def restart(self):
        self.pg(["pg_ctl", "-D", self.pgdata, "-o", self.opts(), "-m", "fast", "-w", "restart"])

    def stop(self):
        try:
            self.pg(["pg_ctl", "-D", self.pgdata, "-m", "immediate", "-w", "stop"])
        except subprocess.CalledProcessError:
            pass

    def sql(self, query):
        cmd = self.prefix + [os.path.join(self.bindir, "psql"), "-X", "-q", "-At", "-h", "127.0.0.1",
                             "-p", str(self.port), "-U", "postgres", "-d", "crm", "-c", query]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd="/").stdout


class Server:
    def __init__(self, world, port):
        self.world, self.port, self.proc = world, port, None
        self.log = open(os.path.join(world.dir, f"server-{port}.log"), "a")

    def start(self):
        env = world_env(self.world, {"DATABASE_URL": self.world.pg.url,
                                     "EPICCRM_JWT_SECRET": self.world.secret})
        self.proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{self.port}"], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.log, cwd=self.world.dir)
        if not wait_port(self.port):
            sys.exit(f"the server on {self.port} did not start")

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)
        t = time.perf_counter()
        code = self.proc.wait(timeout=30)
        return code, time.perf_counter() - t


class Balancer:
    """Round robin over the servers that accept: a connection goes to the next one, or to the
    one after if it refuses."""

    def __init__(self, ports):
        self.ports, self.next, self.lock = ports, 0, threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.sock.accept()
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        with self.lock:
            first = self.next
            self.next = (self.next + 1) % len(self.ports)
        upstream = None
        for k in range(len(self.ports)):
            try:
                upstream = socket.create_connection(("127.0.0.1", self.ports[(first + k) % len(self.ports)]), timeout=5)
                break
            except OSError:
                continue
        if upstream is None:
            client.close()
            return
        upstream.settimeout(None)
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream)


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def world_env(world, extra=None, home=None):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": home or world.dir, "TZ": "UTC", "NO_COLOR": "1",
           "EPICCRM_TOKEN_STORE": "file"}
    env.update(extra or {})
    return env


class World:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="epicevents-soak-")
        os.chmod(self.dir, 0o755)
        self.secret = "soak-" + os.urandom(24).hex()
        self.pg = Postgres(os.path.join(self.dir, "pg"))
        direct = world_env(self, {"DATABASE_URL": self.pg.url, "EPICCRM_JWT_SECRET": self.secret})
        subprocess.run([BIN, "db", "migrate"], env=direct, check=True, capture_output=True, cwd=self.dir)
        out = subprocess.run([BIN, "--json", "db", "seed", "--scale", "0.12"], env=direct, check=True,
                             capture_output=True, text=True, cwd=self.dir)
        self.password = json.loads(out.stdout)["password"]
        self.pg.sql("checkpoint")

    def close(self):
        self.pg.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- the cost of an Idempotency-Key ----

def login_token(port, email, password):
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("POST", "/v1/session", json.dumps({"email": email, "password": password}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    body = json.loads(r.read())
    if r.status != 200:
        sys.exit(f"login failed: {body}")
    return body["access_token"]


def idempotency_cost(world, port, runs=400):
    """Median round trip of a payment (0.01) with and without a key, alternately, on one
    kept-alive connection each."""
    sales = world.pg.sql("select id, email from employees where role = 'SALES' order by id limit 1").split("|")
    token = login_token(port, sales[1].strip(), world.password)
    contract = world.pg.sql(f"select id from contracts where sales_contact_id = {sales[0]} "
                            "order by amount_due desc limit 1").strip()
    path = f"/v1/contracts/{contract}/payments"
    body = json.dumps({"amount": "0.01"})
    conns = {True: http.client.HTTPConnection("127.0.0.1", port),
             False: http.client.HTTPConnection("127.0.0.1", port)}
    times = {True: [], False: []}
    for i in range(runs + 20):
        for keyed in (False, True) if i % 2 else (True, False):
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            if keyed:
                headers["Idempotency-Key"] = f"cost-{os.getpid()}-{i}"
            t = time.perf_counter()
            conns[keyed].request("POST", path, body, headers)
            r = conns[keyed].getresponse()
            r.read()
            dt = (time.perf_counter() - t) * 1000
            if r.status != 200:
                sys.exit(f"payment failed: {r.status}")
            if i >= 20:  # warm-up left out
                times[keyed].append(dt)
    return statistics.median(times[False]), statistics.median(times[True]), runs


# ---- the soak ----

class Client(threading.Thread):
    def __init__(self, world, n, employee, contracts, clients, url, t0, stop):
        super().__init__(daemon=True)
        self.world, self.n, self.employee, self.t0, self.stop = world, n, employee, t0, stop
        self.contracts, self.clients = contracts, clients
        self.home = os.path.join(world.dir, f"client{n}")
        os.makedirs(self.home)
        self.env = world_env(world, {"EPICCRM_SERVER": url}, self.home)
        self.records = []  # (start, end, op, code, first stderr line, detail)
        self.rng = random.Random(n)
        self.seq = 0

    def cli(self, args, stdin=None):
        t = time.perf_counter() - self.t0
        p = subprocess.run([BIN] + args, env=self.env, cwd=self.home, input=stdin,
                           capture_output=True, text=True)
        return t, time.perf_counter() - self.t0, p

    def login(self):
        p = subprocess.run([BIN, "login", self.employee], env=self.env, cwd=self.home,
                           input=self.world.password + "\n", capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"login of {self.employee} failed: {p.stderr.strip()}")

    def run(self):
        while not self.stop.is_set():
            self.step()

    def step(self):
        r = self.rng.random()
        self.seq += 1
        if r < 0.35:
            op, args, detail = "contract show", ["contract", "show", str(self.rng.choice(self.contracts))], None
        elif r < 0.50:
            op, args, detail = "client list", ["client", "list", "--limit", "20"], None
        elif r < 0.60:
            op, args, detail = "event list", ["event", "list", "--mine", "--limit", "10"], None
        elif r < 0.80:
            # an amount no other payment of this contract has (its contracts are its own)
            contract = self.contracts[self.seq % len(self.contracts)]
            amount = f"{self.seq / 100:.2f}"
            op, args, detail = "contract pay", ["contract", "pay", str(contract), amount], (contract, amount)
        elif r < 0.95:
            client = self.rng.choice(self.clients)
            phone = f"+33 1 {self.n:02d} {self.seq:06d}"
            op, args, detail = "client update", ["client", "update", str(client), "--phone", phone], (client, phone)
        else:
            email = f"soak{self.n}-{self.seq}@example.com"
            op, args, detail = "client create", ["client", "create", "Soak", f"N{self.seq}", email], email
        start, end, p = self.cli(args)
        line = p.stderr.strip().splitlines()[0] if p.stderr.strip() else ""
        self.records.append((start, end, op, p.returncode, line, detail))


def kind_of(code, line):
    if "may have been applied" in line:
        return "7: may have been applied"
    words = re.sub(r"https?://\S+|\d+", "N", line.replace("error: ", ""))
    return f"{code}: {words[:70]}"


def soak(world, write):
    ports = [free_port(), free_port()]
    servers = [Server(world, p) for p in ports]
    for s in servers:
        s.start()
    balancer = Balancer(ports)
    url = f"http://127.0.0.1:{balancer.port}"
    cost = idempotency_cost(world, ports[0])
    note(f"idempotency: median {cost[0]:.2f} ms without a key, {cost[1]:.2f} ms with one")

    sales = [line.split("|") for line in world.pg.sql(
        "select id, email from employees where role = 'SALES' order by id").split()]
    # each client pays contracts of its own (so that every amount is traced to one client),
    # big enough for a minute of payments
    owned = {}
    for sid, _ in sales:
        owned[sid] = [int(x) for x in world.pg.sql(
            f"select id from contracts where sales_contact_id = {sid} order by id").split()]
    theirs_clients = {sid: [int(x) for x in world.pg.sql(
        f"select id from clients where sales_contact_id = {sid} order by id").split()] for sid, _ in sales}
    if len(sales) < CLIENTS:
        sys.exit(f"the seed made {len(sales)} salespeople, fewer than {CLIENTS} clients")
    stop = threading.Event()
    clients = []
    for n in range(CLIENTS):
        sid, email = sales[n]
        mine, cl = owned[sid][:5], theirs_clients[sid][:10]
        if not mine or not cl:
            sys.exit(f"the seed gave employee {sid} too few contracts or clients")
        clients.append(Client(world, n, email, mine, cl, url, 0, stop))
    logins = [threading.Thread(target=c.login) for c in clients]
    for t in logins:
        t.start()
    for t in logins:
        t.join()
    t0 = time.perf_counter()
    for c in clients:
        c.t0 = t0
    ids = ",".join(str(c) for cl in clients for c in cl.contracts)
    world.pg.sql(f"update contracts set total_amount = 1000000, amount_due = 1000000 where id in ({ids})")
    before = {c: world.pg.sql(f"select amount_due from contracts where id = {c}").strip()
              for cl in clients for c in cl.contracts}
    audit_from = int(world.pg.sql("select coalesce(max(id), 0) from audit_log").strip())
    for c in clients:
        c.start()
    faults = []
    time.sleep(max(0, PG_RESTART_AT - (time.perf_counter() - t0)))
    a = time.perf_counter() - t0
    world.pg.restart()
    faults.append(("PostgreSQL restart", a, time.perf_counter() - t0))
    time.sleep(max(0, SIGTERM_AT - (time.perf_counter() - t0)))
    a = time.perf_counter() - t0
    code, took = servers[1].terminate()
    servers[1].start()
    faults.append(("SIGTERM and restart of one server", a, time.perf_counter() - t0))
    time.sleep(max(0, SECONDS - (time.perf_counter() - t0)))
    stop.set()
    for c in clients:
        c.join(timeout=120)
    elapsed = time.perf_counter() - t0
    for s in servers:
        s.terminate()

    records = [r for c in clients for r in c.records]
    windows = [(a, b + GRACE) for _, a, b in faults]
    in_window = lambda s, e: any(s <= b and e >= a for a, b in windows)
    errors, outside = {}, []
    for (s, e, op, code, line, _) in records:
        if code != 0:
            k = f"{kind_of(code, line)} ({op})"
            errors[k] = errors.get(k, 0) + 1
            if not in_window(s, e):
                outside.append((round(s, 1), op, code, line))
    checks = check_invariants(world, clients, before, audit_from)
    times = sorted((e - s) * 1000 for (s, e, *_rest) in records)
    ops = {}
    for r in records:
        ops[r[2]] = ops.get(r[2], 0) + 1
    out = {
        "commands": len(records), "seconds": elapsed, "throughput": len(records) / elapsed,
        "p50": statistics.median(times), "p99": times[int(len(times) * 0.99) - 1],
        "errors": errors, "outside": outside, "faults": faults, "ops": ops,
        "sigterm": (code, took), "checks": checks, "cost": cost, "machine": machine_line(world),
    }
    md = markdown(out)
    print(md)
    if write:
        write_docs(md)
    ok = not outside and all(ok for ok, _ in checks.values())
    return ok


def check_invariants(world, clients, before, audit_from):
    checks = {}
    # payments: every one reported done is applied exactly once; an unknown one at most once
    done, unknown = {}, {}
    for c in clients:
        for (_, _, op, code, line, detail) in c.records:
            if op != "contract pay":
                continue
            if code == 0:
                done.setdefault(detail[0], []).append(detail[1])
            elif "may have been applied" in line:
                unknown.setdefault(detail[0], []).append(detail[1])
    rows = world.pg.sql("select entity_id, changes->>'amount' from audit_log "
                        f"where action = 'contract.pay' and id > {audit_from}")
    applied = {}
    for line in rows.split():
        cid, amount = line.split("|")
        applied.setdefault(int(cid), []).append(f"{float(amount):.2f}")
    twice = [(c, a) for c, amounts in applied.items() for a in set(amounts) if amounts.count(a) > 1]
    missing = [(c, a) for c, amounts in done.items() for a in amounts if a not in applied.get(c, [])]
    stray = [(c, a) for c, amounts in applied.items() for a in amounts
             if a not in done.get(c, []) + unknown.get(c, [])]
    n_done = sum(len(v) for v in done.values())
    checks["every payment reported done is applied"] = (not missing, f"{n_done} payments, {len(missing)} missing")
    checks["no payment applied twice"] = (not twice, f"{len(twice)} applied twice")
    checks["no payment applied that was reported failed"] = (not stray, f"{len(stray)} stray")
    # the amounts add up
    bad_sum = []
    for cid, due0 in before.items():
        due = float(world.pg.sql(f"select amount_due from contracts where id = {cid}").strip())
        paid = sum(float(a) for a in applied.get(cid, []))
        if abs(float(due0) - paid - due) > 0.001:
            bad_sum.append(cid)
    checks["amounts due = before - payments applied"] = (not bad_sum, f"{len(before)} contracts, {len(bad_sum)} off")
    # creates: exactly once each
    created = [d for c in clients for (_, _, op, code, _, d) in c.records if op == "client create" and code == 0]
    found = set(world.pg.sql("select email from clients where email like 'soak%'").split())
    lost = [e for e in created if e not in found]
    checks["every client reported created exists (once: e-mails are unique)"] = (not lost, f"{len(created)} created, {len(lost)} missing")
    # updates: the last phone reported set is the phone (unless a later one's outcome is unknown)
    last = {}
    for c in clients:
        for (s, _, op, code, line, d) in c.records:
            if op == "client update" and (code == 0 or "may have been applied" in line):
                last.setdefault(d[0], []).append((s, code, d[1]))
    wrong = []
    for cid, ups in last.items():
        ups.sort()
        phone = world.pg.sql(f"select phone from clients where id = {cid}").strip()
        ok_ones = [p for (_, code, p) in ups if code == 0]
        tail_unknown = [p for (_, code, p) in ups[len(ups) - 1:] if code != 0]
        if ok_ones and phone != ok_ones[-1] and phone not in tail_unknown:
            # another client's update of the same client may have landed after: allowed
            if phone not in [p for (_, _, p) in ups]:
                wrong.append(cid)
    checks["every client update reported done is the phone or was overwritten by a later one"] = (not wrong, f"{len(last)} clients, {len(wrong)} wrong")
    return checks


def machine_line(world):
    """The machine, PostgreSQL and build the figures come from, as scripts/bench.py says it."""
    pg = subprocess.run([os.path.join(world.pg.bindir, "postgres"), "--version"],
                        capture_output=True, text=True).stdout.strip().replace("postgres (PostgreSQL) ", "")
    return (f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
            f"PostgreSQL {pg or '?'} (a cluster of the script's own, TCP on loopback, `fsync=off`); "
            f"release build; {time.strftime('%Y-%m-%d')}.")


def markdown(out):
    lines = [
        out["machine"],
        "Command: `python3 scripts/soak.py --write` (the idempotency cost alone, 1,000 of each: "
        "`python3 scripts/soak.py --cost-only`).", "",
        f"50 clients (each the real CLI binary in a loop, one terminal each, logged in as one of "
        f"the seeded salespeople), two servers behind a round-robin balancer, {out['seconds']:.0f} s; "
        f"{', '.join(f'{name} at {a:.1f}–{b:.1f} s' for name, a, b in out['faults'])}.", "",
        "| figure | value |", "| --- | --- |",
        f"| commands | {out['commands']:,} ({', '.join(f'{k} {v}' for k, v in sorted(out['ops'].items()))}) |",
        f"| throughput | {out['throughput']:.1f} commands/s |",
        f"| a command, whole process (p50 / p99) | {out['p50']:.0f} ms / {out['p99']:.0f} ms |",
        f"| SIGTERM to exit of the stopped server | {out['sigterm'][1]:.2f} s (exit {out['sigterm'][0]}) |",
        f"| errors inside the fault windows (fault to +{GRACE:.0f} s) | {sum(out['errors'].values()) - len(out['outside'])} |",
        f"| errors outside them | {len(out['outside'])} |",
        f"| a payment through a server, median (without / with `Idempotency-Key`, {out['cost'][2]} each) | "
        f"{out['cost'][0]:.2f} ms / {out['cost'][1]:.2f} ms (+{out['cost'][1] - out['cost'][0]:.2f} ms) |",
        "",
        "Errors by kind (exit code: message (command)):", "",
    ]
    lines += [f"- {k}: {v}" for k, v in sorted(out["errors"].items())] or ["- none"]
    lines += ["", "Checks:", ""]
    lines += [f"- {'ok' if ok else 'FAILED'}: {name} ({what})" for name, (ok, what) in out["checks"].items()]
    lines += [f"- {'ok' if not out['outside'] else 'FAILED'}: no error outside the fault windows"
              + (f" ({out['outside'][:5]})" if out["outside"] else "")]
    return "\n".join(lines)


def write_docs(md):
    path = os.path.join(ROOT, "docs", "performance.md")
    text = open(path).read()
    begin, end = "<!-- soak:begin -->", "<!-- soak:end -->"
    block = f"{begin}\n{md}\n{end}"
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text += f"\n## Soak under faults (`scripts/soak.py`)\n\n{block}\n"
    open(path, "w").write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="put the figures in docs/performance.md")
    ap.add_argument("--no-build", action="store_true", help="use target/release/epicevents as it is")
    ap.add_argument("--cost-only", action="store_true", help="only the cost of an Idempotency-Key")
    args = ap.parse_args()
    if not args.no_build:
        build()
    world = World()
    try:
        if args.cost_only:
            port = free_port()
            server = Server(world, port)
            server.start()
            cost = idempotency_cost(world, port, runs=1000)
            server.terminate()
            print(f"a payment, median of 1000: {cost[0]:.3f} ms without a key, "
                  f"{cost[1]:.3f} ms with one (+{cost[1] - cost[0]:.3f} ms)")
            ok = True
        else:
            ok = soak(world, args.write)
    finally:
        world.close()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
