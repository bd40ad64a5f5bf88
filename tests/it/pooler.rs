//! Spec §11: behind PgBouncer 1.18 in transaction mode, with only
//! `ignore_startup_parameters = extra_float_digits` — the timeouts still hold, many commands
//! share a few server connections, migrations are sent to the database itself, and a refusal
//! says what the pooler said. (The auth tests, the permission enumeration, the concurrency
//! tests and a scenario per entity also run through it: `::pooler` in their names.)

use crate::common::*;

fn pooled(f: impl FnOnce()) {
    in_mode(Mode::Pooler, f)
}

#[test]
fn a_held_lock_makes_a_command_give_up_within_the_lock_timeout() {
    pooled(|| {
        let c = crm();
        let holder = c.db.hold("select * from contracts where id = 1 for update");
        let pay = c.mia.spawn(["contract", "pay", "1", "10"]);
        c.db.wait_for_lock_waiter();
        // the lock timeout (5 s, set inside the transaction) ends the wait, not the holder
        ended_on_its_own(pay, "the command waited past its lock timeout")
            .code(6)
            .stderr_has("held by another command");
        c.db.release(holder);
        assert_eq!(c.db.scalar("select amount_due from contracts where id = 1"), "1000.00");
    });
}

#[test]
fn the_session_check_has_the_same_timeouts_in_its_one_round_trip() {
    pooled(|| {
        let c = crm();
        // what a migration altering the sessions table would hold
        let holder = c.db.hold("lock table sessions in access exclusive mode");
        let whoami = c.mia.spawn(["whoami"]);
        c.db.wait_for_lock_waiter();
        ended_on_its_own(whoami, "the session check waited past its lock timeout")
            .code(6)
            .stderr_has("held by another command");
        c.db.release(holder);
        // and the server connection it used is clean for the next command
        c.mia.run(["whoami"]).ok().stdout_has("mia@example.com");
    });
}

#[test]
fn fifty_commands_at_once_share_five_server_connections() {
    pooled(|| {
        let c = crm();
        c.mia.run(["contract", "create", "1", "100000", "--signed"]).ok();
        let children: Vec<_> = (0..50)
            .map(|i| match i % 5 {
                0 => c.sam.spawn(["contract", "pay", "2", "10"]),
                1 => c.sue.spawn(["event", "list", "--all"]),
                2 => c.mia.spawn(["whoami"]),
                3 => c.sam.spawn(["client", "update", "1", "--phone", &format!("01{i:08}")]),
                _ => c.uma.spawn(["--json", "contract", "list", "--unpaid"]),
            })
            .collect();
        for child in children {
            Run::from(child.wait_with_output().unwrap()).ok();
        }
        assert_eq!(c.db.scalar("select amount_due from contracts where id = 2"), "99900.00");
        // all through one pool of five server connections
        assert_eq!(BOUNCER_POOL, 5);
    });
}

#[test]
fn migrations_go_to_the_database_itself() {
    pooled(|| {
        let db = TestDb::unmigrated();
        db.user()
            .run(["db", "migrate"])
            .code(7)
            .stderr_has("pooler")
            .stderr_has("hint: `db migrate` must connect to PostgreSQL directly");
        let mut direct = db.user();
        direct.set("DATABASE_URL", &db.url);
        direct.run(["db", "migrate"]).ok();
        db.user().run(["db", "status"]).ok().stdout_has("up to date");
    });
}

#[test]
fn a_refusal_says_what_the_pooler_said() {
    pooled(|| {
        let db = TestDb::new();
        let mut u = db.user();
        u.set("DATABASE_URL", &db.pooled_url().replace(&db.name, "no_such_database_here"));
        u.run(["whoami"]).code(7).stderr_has("no_such_database_here").stderr_has("refused");
    });
}

#[test]
fn a_server_behind_the_pooler() {
    in_mode(Mode::ServerPooler, || {
        let c = crm();
        c.mia.run(["contract", "create", "1", "150"]).ok();
        let children: Vec<_> =
            (0..20).map(|_| c.sam.spawn(["contract", "pay", "2", "10"])).collect();
        let runs: Vec<Run> =
            children.into_iter().map(|ch| Run::from(ch.wait_with_output().unwrap())).collect();
        assert_eq!(runs.iter().filter(|r| r.code == 0).count(), 15, "{runs:?}");
        for r in runs.into_iter().filter(|r| r.code != 0) {
            r.code(6).stderr_has("exceeds the amount due");
        }
        c.sue.run(["--json", "event", "list", "--all"]).ok();
        c.mia.run(["audit", "list"]).ok();
    });
}
