#!/usr/bin/env python3
"""Whole-process benchmark of epicevents at two sizes (issue: performance at scale).

    python3 scripts/bench.py            # full size and one tenth, prints a Markdown table
    python3 scripts/bench.py --write    # also puts the table in docs/performance.md

For each size it builds nothing by hand: a zero-config cluster in a temporary EPICCRM_DATA_DIR
(`db migrate`), `db seed --scale S` (1,000 employees, 100,000 clients, 300,000 contracts,
1,000,000 events at scale 1), logins for a manager, a salesperson and a support employee, then
runs each command many times and reports the median and p95 wall time and the peak RSS of the
process (from wait4's rusage, per run; hyperfine cannot report memory). Standard library only.
"""
import argparse, json, os, platform, re, shutil, statistics, subprocess, sys, tempfile, time

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
        self.seed_seconds = None

    def env(self, who="root"):
        home = self.homes.get(who, self.dir)
        return {"PATH": os.environ.get("PATH", ""), "HOME": home, "TZ": "UTC", "NO_COLOR": "1",
                "EPICCRM_DATA_DIR": os.path.join(self.dir, "data"), "EPICCRM_TOKEN_STORE": "file"}

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
        self.counts = {k: out[k] for k in ("employees", "clients", "contracts", "events")}
        self.password = out["password"]
        for who, eid in (("manager", out["management_id"]), ("sales", out["sales_id"]),
                         ("support", out["support_id"])):
            home = os.path.join(self.dir, who)
            os.makedirs(home, exist_ok=True)
            self.homes[who] = home
            self.run(["login", f"employee{eid}@bench.example"], who, stdin=self.password + "\n")
        self.email = "employee1@bench.example"
        owned = json.loads(self.run(["--json", "contract", "list", "--mine", "--limit", "200"], "sales").stdout)
        self.contract = max(owned, key=lambda c: float(c["amount_due"]))["id"]
        mine = json.loads(self.run(["--json", "event", "list", "--mine", "--limit", "1"], "support").stdout)
        self.event = mine[0]["id"]
        self.client = self.counts["clients"] // 2

    def close(self):
        self.run(["db", "stop"], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


def measure(world, who, args, runs, stdin=None):
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
        cmd = [BIN] + argv
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
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="1,0.1", help="comma-separated seed scales (default 1,0.1)")
    ap.add_argument("--write", action="store_true", help="write the results into docs/performance.md")
    opts = ap.parse_args()
    build()
    scales = [float(s) for s in opts.scales.split(",")]
    results, meta = {}, {}
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
    table = "\n".join(lines)
    print(table)
    if opts.write:
        path = os.path.join(ROOT, "docs", "performance.md")
        doc = open(path).read()
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        doc = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{table}\n{end}", doc, flags=re.S)
        open(path, "w").write(doc)


def cases_names():
    class Dummy:
        client = contract = event = 0
        email = password = ""
    return [(c[0],) for c in cases(Dummy())]


if __name__ == "__main__":
    main()
