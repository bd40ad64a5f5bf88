//! Spec §4, the `client` group.

use crate::common::*;

crate::in_every_mode! {
    fn sales_create_and_own_clients_and_everyone_reads_them() {
        let c = crm();
        let created = c
            .sid
            .run([
                "--json",
                "client",
                "create",
                "Ann",
                "Lee",
                "ann@corp.example",
                "--phone",
                "+33 1 02 03 04 05",
                "--company-name",
                "Corp",
            ])
            .ok()
            .json();
        assert_eq!(created["sales_contact_id"], 4);
        assert_eq!(created["company_name"], "Corp");
        for k in [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "company_name",
            "sales_contact_id",
            "created_at",
            "updated_at",
        ] {
            assert!(created.get(k).is_some(), "{k}");
        }
        for u in [&c.mia, &c.sam, &c.sue] {
            let all = u.run(["--json", "clients", "list"]).ok().json();
            assert_eq!(all.as_array().unwrap().len(), 2);
            u.run(["client", "show", "2"]).ok().stdout_has("ann@corp.example");
        }
        let mine = c.sam.run(["--json", "client", "list", "--mine"]).ok().json();
        assert_eq!(mine.as_array().unwrap().len(), 1);
        assert_eq!(mine[0]["email"], "kevin@startup.io");
        c.mia.run(["client", "list", "--mine"]).code(4);
        c.sue.run(["client", "list", "--mine"]).code(4);
        c.mia.run(["client", "create", "X", "Y", "x@example.com"]).code(4);
        c.sue.run(["client", "create", "X", "Y", "x@example.com"]).code(4);
    }
}

#[test]
fn search_is_case_insensitive_over_name_email_and_company_and_literal() {
    let c = crm();
    c.sam
        .run(["client", "create", "Zoë", "Ñandú", "zoe@example.com", "--company", "100% Fun_Co"])
        .ok();
    let ids = |q: &str| -> Vec<i64> {
        c.sue
            .run(["--json", "client", "list", "--search", q])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids("KEVIN"), [1]);
    assert_eq!(ids("startup.IO"), [1]);
    assert_eq!(ids("cool startup"), [1]);
    assert_eq!(ids("zoë"), [2]);
    assert_eq!(ids("100%"), [2]);
    assert_eq!(ids("%"), [2], "% is literal");
    assert_eq!(ids("_"), [2], "_ is literal");
    assert_eq!(ids("nobody"), Vec::<i64>::new());
}

#[test]
fn update_by_owner_or_manager_only() {
    let c = crm();
    let u = c
        .sam
        .run(["--json", "client", "update", "1", "--phone", "0102030405", "--company", ""])
        .ok()
        .json();
    assert_eq!(u["phone"], "0102030405");
    assert!(u["company_name"].is_null(), "empty value clears");
    c.mia.run(["client", "update", "1", "--last-name", "Case"]).ok();
    c.sid.run(["client", "update", "1", "--last-name", "X"]).code(4);
    c.sue.run(["client", "update", "1", "--last-name", "X"]).code(4);
    c.sam.run(["client", "update", "1"]).code(2).stderr_has("nothing to update");
    c.sam.run(["client", "update", "1", "--email", "bad"]).code(2);
    c.sam.run(["client", "update", "99", "--phone", "1"]).code(5);
}

#[test]
fn reassign_moves_the_contracts_and_needs_an_active_sales_target() {
    let c = crm();
    c.mia.run(["contract", "create", "1", "200"]).ok();
    let r = c.mia.run(["--json", "client", "reassign", "1", "4"]).ok().json();
    assert_eq!(r["sales_contact_id"], 4);
    assert_eq!(
        c.db.scalar("select string_agg(distinct sales_contact_id::text, ',') from contracts"),
        "4"
    );
    // the new owner manages them now, the old one no longer
    c.sid.run(["contract", "pay", "1", "10"]).ok();
    c.sam.run(["contract", "pay", "1", "10"]).code(4);
    c.mia.run(["client", "reassign", "1", "3"]).code(6).stderr_has("not an active SALES");
    c.mia.run(["client", "reassign", "1", "99"]).code(5);
    c.mia.run(["client", "reassign", "99", "2"]).code(5);
    c.mia.run(["employee", "deactivate", "2"]).ok();
    c.mia.run(["client", "reassign", "1", "2"]).code(6);
    c.sid.run(["client", "reassign", "1", "4"]).code(4);
    let audit = c.db.scalar("select changes from audit_log where action = 'client.reassign'");
    assert!(audit.contains("\"from\": 2") && audit.contains("\"to\": 4"), "{audit}");
}

#[test]
fn delete_only_without_contracts() {
    let c = crm();
    c.mia.run(["client", "delete", "1", "--yes"]).code(6).stderr_has("still has contracts");
    c.sam.run(["client", "create", "Del", "Me", "del@example.com"]).ok();
    c.sam.run(["client", "delete", "2", "--yes"]).code(4);
    c.mia.run(["client", "delete", "2"]).code(2).stderr_has("--yes");
    c.mia.run(["client", "delete", "2", "--yes"]).ok();
    c.mia.run(["client", "show", "2"]).code(5);
    c.mia.run(["client", "delete", "2", "--yes"]).code(5);
}

#[test]
fn duplicate_email_is_a_conflict_case_insensitively() {
    let c = crm();
    c.sam
        .run(["client", "create", "K", "C", "KEVIN@startup.io"])
        .code(6)
        .stderr_has("already exists");
    let other =
        c.sam.run(["--json", "client", "create", "Other", "One", "other@example.com"]).ok().json();
    let id = other["id"].as_i64().unwrap().to_string();
    c.sam.run(["client", "update", &id, "--email", "Kevin@Startup.io"]).code(6);
}

#[test]
fn hostile_and_non_ascii_text_round_trips_exactly() {
    let c = crm();
    let names = [
        ("O'Brien", "Robert'); DROP TABLE clients;--", "a1@example.com", "\"Quoted\" & <Co>"),
        ("Zoë", "Ñandú-Łukasz", "a2@example.com", "Société Générale — 東京"),
        ("%_\\", "$1 ; select 1", "a3@example.com", "' or '1'='1"),
    ];
    for (first, last, email, company) in names {
        let created = c
            .sam
            .run(["--json", "client", "create", first, last, email, "--company", company])
            .ok()
            .json();
        let id = created["id"].as_i64().unwrap().to_string();
        let shown = c.sue.run(["--json", "client", "show", &id]).ok().json();
        assert_eq!(shown["first_name"], first);
        assert_eq!(shown["last_name"], last);
        assert_eq!(shown["company_name"], company);
        c.sue.run(["client", "show", &id]).ok().stdout_has(last);
    }
    assert_eq!(c.db.scalar("select count(*) from clients"), "4");
}

#[test]
fn employees_still_referenced_cannot_be_deleted_or_change_role() {
    let c = crm();
    c.mia.run(["employee", "delete", "2", "--yes"]).code(6).stderr_has("sales contact");
    c.mia.run(["employee", "update", "2", "--role", "SUPPORT"]).code(6).stderr_has("reassign");
    c.sam.run(["whoami"]).ok();
    c.mia.run(["event", "assign", "1", "3"]).ok();
    c.mia.run(["employee", "delete", "3", "--yes"]).code(6).stderr_has("support contact");
    c.mia.run(["employee", "update", "3", "--role", "SALES"]).code(6);
    // once nothing refers to them, they can go
    c.mia.run(["employee", "delete", "5", "--yes"]).ok();
    assert_eq!(c.db.scalar("select count(*) from employees"), "4");
}
