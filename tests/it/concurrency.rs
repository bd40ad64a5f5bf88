//! Every change is one transaction with guarded statements: racing commands cannot lose an
//! update, sign twice or duplicate a row — directly, through a server and through PgBouncer.
//! Every loser is told, in one clean line, what it lost to.

use crate::common::*;

fn race(u: &User, n: usize, args: impl Fn(usize) -> Vec<String>) -> Vec<Run> {
    let children: Vec<_> = (0..n).map(|i| u.spawn(args(i))).collect();
    children.into_iter().map(|c| Run::from(c.wait_with_output().unwrap())).collect()
}

fn winners(runs: &[Run]) -> usize {
    runs.iter().filter(|r| r.code == 0).count()
}

/// Every loser exits 6 with one clean `error:` line saying `what`.
fn losers_say(runs: Vec<Run>, what: &str) {
    for r in runs.into_iter().filter(|r| r.code != 0) {
        r.code(6).stderr_has(what);
    }
}

crate::in_every_mode! {
    fn twenty_simultaneous_payments_of_10_against_150_due() {
        let c = crm();
        c.mia.run(["contract", "create", "1", "150"]).ok();
        let runs = race(&c.sam, 20, |_| vec!["contract".into(), "pay".into(), "2".into(), "10".into()]);
        assert_eq!(winners(&runs), 15, "{runs:?}");
        losers_say(runs, "exceeds the amount due");
        assert_eq!(c.db.scalar("select amount_due from contracts where id = 2"), "0.00");
        assert_eq!(c.db.scalar("select count(*) from audit_log where action = 'contract.pay'"), "15");
    }

    fn a_contract_is_signed_once() {
        let c = crm();
        c.mia.run(["contract", "create", "1", "150"]).ok();
        let runs = race(&c.mia, 10, |_| vec!["contract".into(), "sign".into(), "2".into()]);
        assert_eq!(winners(&runs), 1, "{runs:?}");
        losers_say(runs, "already signed");
        assert_eq!(c.db.scalar("select count(*) from audit_log where action = 'contract.sign'"), "1");
    }

    fn racing_creates_with_one_email_leave_one_row() {
        let c = crm();
        let runs = race(&c.sam, 10, |i| {
            vec![
                "client".into(),
                "create".into(),
                format!("N{i}"),
                "Same".into(),
                if i % 2 == 0 { "SAME@example.com".into() } else { "same@example.com".into() },
            ]
        });
        assert_eq!(winners(&runs), 1, "{runs:?}");
        losers_say(runs, "a client with this email already exists");
        assert_eq!(
            c.db.scalar("select count(*) from clients where lower(email) = 'same@example.com'"),
            "1"
        );

        let runs = race(&c.mia, 6, |i| {
            vec![
                "employee".into(),
                "create".into(),
                format!("E{i}"),
                "X".into(),
                "dup@example.com".into(),
                PASSWORD.into(),
                "SUPPORT".into(),
            ]
        });
        assert_eq!(winners(&runs), 1, "{runs:?}");
        losers_say(runs, "an employee with this email already exists");
        assert_eq!(c.db.scalar("select count(*) from employees where email = 'dup@example.com'"), "1");
    }

    fn a_failed_command_leaves_nothing_written() {
        let c = crm();
        // make the audit insert fail with a constraint no statement expects: the change before
        // it in the transaction must not stay, and the user sees an internal error (exit 1),
        // in one clean line, without the database's words
        c.db.sql("alter table audit_log add constraint audit_log_block check (action <> 'contract.pay') not valid");
        c.mia.run(["contract", "pay", "1", "100"]).code(1).stderr_has("unexpected database error");
        assert_eq!(c.db.scalar("select amount_due from contracts where id = 1"), "1000.00");
        c.db.sql("alter table audit_log add constraint audit_log_block2 check (action <> 'client.create') not valid");
        c.sam.run(["client", "create", "No", "Trace", "notrace@example.com"]).code(1);
        assert_eq!(
            c.db.scalar("select count(*) from clients where email = 'notrace@example.com'"),
            "0"
        );
    }
}
