//! Spec §4, the `contract` group.

use crate::common::*;

#[test]
fn create_show_list_with_filters() {
    let c = crm();
    let k = c.mia.run(["--json", "contract", "create", "1", "1500.5", "500"]).ok().json();
    assert_eq!(k["total_amount"], "1500.50", "amounts are JSON strings with two decimals");
    assert_eq!(k["amount_due"], "500.00");
    assert_eq!(k["is_signed"], false);
    assert_eq!(k["sales_contact_id"], 2, "the client's sales contact");
    assert!(k["signed_at"].is_null());
    c.mia.run(["contract", "create", "1", "300", "0", "--signed"]).ok();
    let ids = |u: &User, args: &[&str]| -> Vec<i64> {
        let mut a = vec!["--json", "contract", "list"];
        a.extend_from_slice(args);
        u.run(a).ok().json().as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
    };
    assert_eq!(ids(&c.sue, &[]), [1, 2, 3]);
    assert_eq!(ids(&c.sue, &["--unsigned"]), [2]);
    assert_eq!(ids(&c.sue, &["--unpaid"]), [1, 2]);
    assert_eq!(ids(&c.sue, &["--unsigned", "--unpaid"]), [2]);
    assert_eq!(ids(&c.sue, &["--client", "1"]), [1, 2, 3]);
    assert_eq!(ids(&c.sue, &["--client", "9"]), Vec::<i64>::new());
    assert_eq!(ids(&c.sam, &["--mine"]), [1, 2, 3]);
    assert_eq!(ids(&c.sid, &["--mine"]), Vec::<i64>::new());
    c.sue.run(["contract", "list", "--mine"]).code(4);
    let shown = c.sid.run(["contract", "show", "1"]).ok().stdout;
    assert!(shown.contains("total_amount:") && shown.contains("1000.00"), "{shown}");
    let table = c.sam.run(["contract", "list"]).ok().stdout;
    assert!(table.lines().next().unwrap().starts_with("ID"), "{table}");
    c.sam.run(["contract", "create", "1", "100"]).code(4);
    c.mia.run(["contract", "create", "99", "100"]).code(5);
    c.mia.run(["contract", "show", "99"]).code(5);
}

#[test]
fn invalid_amounts_are_exit_2() {
    let c = crm();
    for args in [
        vec!["contract", "create", "1", "0"],
        vec!["contract", "create", "1", "-5"],
        vec!["contract", "create", "1", "10.555"],
        vec!["contract", "create", "1", "abc"],
        vec!["contract", "create", "1", "100", "150"],
        vec!["contract", "create", "1", "100", "-1"],
        vec!["contract", "update", "1"],
        vec!["contract", "update", "1", "--amount-due", "1000.01"],
        vec!["contract", "update", "1", "--total", "0"],
        vec!["contract", "update", "1", "--total", "999"],
        vec!["contract", "pay", "1", "0"],
        vec!["contract", "pay", "1", "-10"],
        vec!["contract", "pay", "1", "1.001"],
    ] {
        c.mia.run(&args).code(2);
    }
    assert_eq!(c.db.scalar("select count(*) from contracts"), "1");
    assert_eq!(
        c.db.scalar("select total_amount::text || '/' || amount_due from contracts"),
        "1000.00/1000.00"
    );
}

crate::in_every_mode! {
    fn update_sign_pay_by_owner_or_manager() {
        let c = crm();
        c.mia.run(["contract", "create", "1", "800"]).ok();
        let u = c
            .sam
            .run(["--json", "contract", "update", "2", "--total", "900", "--amount-due", "850"])
            .ok()
            .json();
        assert_eq!(
            (u["total_amount"].as_str(), u["amount_due"].as_str()),
            (Some("900.00"), Some("850.00"))
        );
        c.sid.run(["contract", "update", "2", "--total", "1000"]).code(4);
        c.sue.run(["contract", "sign", "2"]).code(4);
        let s = c.sam.run(["--json", "contract", "sign", "2"]).ok().json();
        assert_eq!(s["is_signed"], true);
        assert!(s["signed_at"].as_str().unwrap().ends_with('Z'));
        c.mia.run(["contract", "sign", "2"]).code(6).stderr_has("already signed");
        let p = c.sam.run(["--json", "contract", "pay", "2", "850"]).ok().json();
        assert_eq!(p["amount_due"], "0.00");
        c.mia.run(["contract", "pay", "2", "0.01"]).code(6).stderr_has("exceeds the amount due");
        c.uma.run(["contract", "pay", "1", "1"]).code(4);
        c.mia.run(["contract", "pay", "99", "1"]).code(5);
        c.mia.run(["contract", "sign", "99"]).code(5);
        let actions = c.db.scalar("select string_agg(action, ',' order by id) from audit_log where entity = 'contract' and entity_id = 2");
        assert_eq!(actions, "contract.create,contract.update,contract.sign,contract.pay");
    }
}

#[test]
fn delete_only_without_events() {
    let c = crm();
    c.mia.run(["contract", "delete", "1", "--yes"]).code(6).stderr_has("still has events");
    c.mia.run(["contract", "create", "1", "100"]).ok();
    c.sam.run(["contract", "delete", "2", "--yes"]).code(4);
    c.mia.run(["contract", "delete", "2", "--yes"]).ok().stdout_has("Deleted contract 2");
    c.mia.run(["contract", "delete", "2", "--yes"]).code(5);
}
