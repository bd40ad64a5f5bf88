//! Every change is one transaction with guarded statements: racing commands cannot lose
//! an update, sign twice or duplicate a row.

use std::process::{Output, Stdio};

use crate::common::*;

fn race(u: &User, n: usize, args: impl Fn(usize) -> Vec<String>) -> Vec<Output> {
    let children: Vec<_> = (0..n)
        .map(|i| u.command(args(i)).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    children.into_iter().map(|c| c.wait_with_output().unwrap()).collect()
}

fn codes(outs: &[Output]) -> Vec<i32> {
    outs.iter().map(|o| o.status.code().unwrap()).collect()
}

#[test]
fn twenty_simultaneous_payments_of_10_against_150_due() {
    let c = crm();
    c.mia.run(["contract", "create", "1", "150"]).ok();
    let outs = race(&c.sam, 20, |_| vec!["contract".into(), "pay".into(), "2".into(), "10".into()]);
    let got = codes(&outs);
    assert_eq!(got.iter().filter(|c| **c == 0).count(), 15, "{got:?}");
    assert_eq!(got.iter().filter(|c| **c == 6).count(), 5, "{got:?}");
    assert_eq!(c.db.scalar("select amount_due from contracts where id = 2"), "0.00");
    assert_eq!(c.db.scalar("select count(*) from audit_log where action = 'contract.pay'"), "15");
}

#[test]
fn a_contract_is_signed_once() {
    let c = crm();
    c.mia.run(["contract", "create", "1", "150"]).ok();
    let outs = race(&c.mia, 10, |_| vec!["contract".into(), "sign".into(), "2".into()]);
    let got = codes(&outs);
    assert_eq!(got.iter().filter(|c| **c == 0).count(), 1, "{got:?}");
    assert!(got.iter().all(|c| *c == 0 || *c == 6), "{got:?}");
    assert_eq!(c.db.scalar("select count(*) from audit_log where action = 'contract.sign'"), "1");
}

#[test]
fn racing_creates_with_one_email_leave_one_row() {
    let c = crm();
    let outs = race(&c.sam, 10, |i| {
        vec![
            "client".into(),
            "create".into(),
            format!("N{i}"),
            "Same".into(),
            if i % 2 == 0 { "SAME@example.com".into() } else { "same@example.com".into() },
        ]
    });
    let got = codes(&outs);
    assert_eq!(got.iter().filter(|c| **c == 0).count(), 1, "{got:?}");
    assert!(got.iter().all(|c| *c == 0 || *c == 6), "{got:?}");
    for o in outs.iter().filter(|o| o.status.code() == Some(6)) {
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.starts_with("error: a client with this email already exists"), "{e}");
    }
    assert_eq!(
        c.db.scalar("select count(*) from clients where lower(email) = 'same@example.com'"),
        "1"
    );

    let outs = race(&c.mia, 6, |i| {
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
    assert_eq!(codes(&outs).iter().filter(|c| **c == 0).count(), 1);
    assert_eq!(c.db.scalar("select count(*) from employees where email = 'dup@example.com'"), "1");
}

#[test]
fn a_failed_command_leaves_nothing_written() {
    let c = crm();
    // make the audit insert fail: the change before it in the transaction must not stay
    c.db.sql("alter table audit_log add constraint audit_log_block check (action <> 'contract.pay') not valid");
    c.mia.run(["contract", "pay", "1", "100"]).code(2);
    assert_eq!(c.db.scalar("select amount_due from contracts where id = 1"), "1000.00");
    c.db.sql("alter table audit_log add constraint audit_log_block2 check (action <> 'client.create') not valid");
    c.sam.run(["client", "create", "No", "Trace", "notrace@example.com"]).code(2);
    assert_eq!(
        c.db.scalar("select count(*) from clients where email = 'notrace@example.com'"),
        "0"
    );
}
