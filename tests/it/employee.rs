//! Spec §4, the `employee` group: every command, its permissions and its failure paths.

use crate::common::*;

crate::in_every_mode! {
    fn list_show_create_update_for_managers_and_reads_for_everyone() {
        let (db, m, sales, support) = with_staff();
        let rows = m.run(["--json", "employee", "list"]).ok().json();
        let emails: Vec<&str> =
            rows.as_array().unwrap().iter().map(|r| r["email"].as_str().unwrap()).collect();
        assert_eq!(emails, ["mia@example.com", "sam@example.com", "sue@example.com"]);
        for u in [&sales, &support] {
            u.run(["employees", "list", "--role", "SUPPORT"]).ok().stdout_has("sue@example.com");
            u.run(["employee", "show", "1"]).ok().stdout_has("mia@example.com");
        }
        let table = m.run(["employee", "list"]).ok().stdout;
        let first = table.lines().next().unwrap();
        assert!(
            first.starts_with("ID") && first.contains("EMAIL") && first.contains("ROLE"),
            "{table}"
        );

        let e = m.run(["--json", "employee", "show", "2"]).ok().json();
        for k in [
            "id",
            "first_name",
            "last_name",
            "email",
            "role",
            "is_active",
            "created_at",
            "updated_at",
            "deactivated_at",
        ] {
            assert!(e.get(k).is_some(), "missing {k}");
        }
        assert!(e.get("password_hash").is_none());
        assert!(e["created_at"].as_str().unwrap().ends_with('Z'));

        let u = m
            .run([
                "--json",
                "employee",
                "update",
                "2",
                "--first-name",
                "Samuel",
                "--email",
                "SAMUEL@example.com",
            ])
            .ok()
            .json();
        assert_eq!(u["first_name"], "Samuel");
        assert_eq!(u["email"], "SAMUEL@example.com");
        sales.run(["employee", "update", "3", "--first-name", "X"]).code(4);
        support.run(["employee", "create", "A", "B", "a@example.com", PASSWORD, "SALES"]).code(4);
        assert_eq!(db.scalar("select count(*) from audit_log where action = 'employee.update'"), "1");
        assert!(
            db.scalar("select changes from audit_log where action = 'employee.update'")
                .contains("Samuel")
        );
    }
}

#[test]
fn paging_limit_offset_all() {
    let (_db, m) = with_manager();
    for i in 0..4 {
        m.add_employee(&format!("E{i}"), &format!("e{i}@example.com"), "SUPPORT");
    }
    let ids = |args: &[&str]| -> Vec<i64> {
        let mut a = vec!["--json", "employee", "list"];
        a.extend_from_slice(args);
        m.run(a).ok().json().as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
    };
    assert_eq!(ids(&["--limit", "2"]), [1, 2]);
    assert_eq!(ids(&["--limit", "2", "--offset", "2"]), [3, 4]);
    assert_eq!(ids(&["--all", "--limit", "1"]), [1, 2, 3, 4, 5]);
    m.run(["employee", "list", "--limit", "0"]).code(2);
    m.run(["employee", "list", "--offset", "-1"]).code(2);
}

#[test]
fn invalid_input_is_exit_2() {
    let (_db, m) = with_manager();
    for args in [
        vec!["employee", "create", "A", "B", "not-an-email", PASSWORD, "SALES"],
        vec!["employee", "create", "A", "B", "a@example.com", "short", "SALES"],
        vec!["employee", "create", "A", "B", "a@example.com", PASSWORD, "CEO"],
        vec!["employee", "create", " ", "B", "a@example.com", PASSWORD, "SALES"],
        vec!["employee", "update", "1"],
        vec!["employee", "update", "1", "--email", "nope"],
        vec!["employee", "update", "1", "--role", "KING"],
        vec!["employee", "show", "x"],
    ] {
        m.run(&args).code(2);
    }
    let long = "x".repeat(129);
    m.run(["employee", "create", "A", "B", "a@example.com", &long, "SALES"])
        .code(2)
        .stderr_has("too long");
    m.run(["employee", "update", "1"]).code(2).stderr_has("nothing to update");
}

#[test]
fn duplicate_email_is_a_conflict_case_insensitively() {
    let (db, m) = with_manager();
    m.add_employee("Sam", "sam@example.com", "SALES");
    m.run(["employee", "create", "Sam", "Two", "SAM@Example.com", PASSWORD, "SALES"])
        .code(6)
        .stderr_has("already exists");
    m.run(["employee", "update", "2", "--email", "MIA@example.com"]).code(6);
    assert_eq!(db.scalar("select count(*) from employees"), "2");
}

#[test]
fn missing_ids_are_exit_5() {
    let (_db, m) = with_manager();
    m.run(["employee", "show", "999"]).code(5).stderr_has("employee 999 not found");
    m.run(["employee", "update", "999", "--first-name", "X"]).code(5);
    m.run(["employee", "deactivate", "999"]).code(5);
    m.run(["employee", "reactivate", "999"]).code(5);
    m.run(["employee", "delete", "999", "--yes"]).code(5);
    m.run_stdin("N3w-password\n", ["employee", "set-password", "999"]).code(5);
}

#[test]
fn set_password_for_self_or_by_a_manager() {
    let (db, m, sales, _support) = with_staff();
    // SALES changes their own password: the current one first, then the new one
    sales.run_stdin("", ["employee", "set-password", "2"]).code(2).stderr_has("current password");
    sales
        .run_stdin("wrong-current\nBrand-new-1\n", ["employee", "set-password", "2"])
        .code(3)
        .stderr_has("current password is wrong");
    sales.run_stdin(&format!("{PASSWORD}\nBrand-new-1\n"), ["employee", "set-password", "2"]).ok();
    let again = db.user();
    again.run_stdin(&format!("{PASSWORD}\n"), ["login", "sam@example.com"]).code(3);
    again.run_stdin("Brand-new-1\n", ["login", "sam@example.com"]).ok();
    // but not someone else's
    sales.run_stdin("Brand-new-2\n", ["employee", "set-password", "3"]).code(4);
    // a manager may change anyone's
    m.run_stdin("Brand-new-3\n", ["employee", "set-password", "3"]).ok();
    db.user().run_stdin("Brand-new-3\n", ["login", "sue@example.com"]).ok();
    // the policy applies
    m.run_stdin("short\n", ["employee", "set-password", "3"]).code(2);
    let audit = db.scalar("select string_agg(changes::text, ',') from audit_log where action = 'employee.set_password'");
    assert!(!audit.contains("argon2") && !audit.contains("Brand-new"), "{audit}");
}

#[test]
fn deactivate_reactivate_never_on_self() {
    let (db, m, sales, _support) = with_staff();
    m.run(["employee", "deactivate", "1"]).code(4).stderr_has("your own account");
    sales.run(["employee", "deactivate", "3"]).code(4);
    let e = m.run(["--json", "employee", "deactivate", "2"]).ok().json();
    assert_eq!(e["is_active"], false);
    assert!(e["deactivated_at"].is_string());
    m.run(["employee", "deactivate", "2"]).code(6).stderr_has("already");
    // inactive employees are hidden from the default list
    let list = m.run(["employee", "list"]).ok().stdout;
    assert!(!list.contains("sam@example.com"));
    m.run(["employee", "list", "--inactive"]).ok().stdout_has("sam@example.com");
    m.run(["employee", "reactivate", "1"]).code(4);
    m.run(["employee", "reactivate", "2"]).ok();
    m.run(["employee", "reactivate", "2"]).code(6);
    let actions = db.scalar("select string_agg(action, ',' order by id) from audit_log where entity_id = 2 and action like 'employee.%activate'");
    assert_eq!(actions, "employee.deactivate,employee.reactivate");
}

#[test]
fn delete_needs_yes_and_is_never_on_self() {
    let (db, m, sales, _support) = with_staff();
    m.run(["employee", "delete", "3"]).code(2).stderr_has("--yes");
    m.run(["employee", "delete", "1", "--yes"]).code(4);
    sales.run(["employee", "delete", "3", "--yes"]).code(4);
    m.run(["employee", "delete", "3", "--yes"]).ok().stdout_has("Deleted employee 3");
    m.run(["employee", "show", "3"]).code(5);
    assert_eq!(db.scalar("select count(*) from audit_log where action = 'employee.delete'"), "1");
}

#[test]
fn the_last_active_manager_cannot_step_down() {
    let (db, m) = with_manager();
    m.run(["employee", "update", "1", "--role", "SALES", "--yes"])
        .code(6)
        .stderr_has("last active manager");
    let id = m.add_employee("Max", "max@example.com", "MANAGEMENT");
    m.run(["employee", "update", "1", "--role", "SALES", "--yes"]).ok();
    let max = db.user();
    max.login("max@example.com");
    max.run(["employee", "update", &id.to_string(), "--role", "SUPPORT", "--yes"]).code(6);
    max.run(["management-only"]).ok();
}

#[test]
fn a_new_password_ends_the_other_sessions_of_the_account() {
    let (db, m, sales, _support) = with_staff();
    let other_device = db.user();
    other_device.login("sam@example.com");
    // Sam changes his own password: his other session ends, this one goes on
    sales.run_stdin(&format!("{PASSWORD}\nBrand-new-1\n"), ["employee", "set-password", "2"]).ok();
    sales.run(["whoami"]).ok();
    other_device.run(["whoami"]).code(3).stderr_has("revoked");
    // a manager resets it: every session of Sam's ends
    m.run_stdin("Brand-new-2\n", ["employee", "set-password", "2"]).ok();
    sales.run(["whoami"]).code(3);
    m.run(["whoami"]).ok();
}

#[test]
fn two_managers_removing_each_other_at_once_leave_one() {
    for round in 0..3 {
        let (db, a) = with_manager();
        a.add_employee("Bea", "bea@example.com", "MANAGEMENT");
        let b = db.user();
        b.login("bea@example.com");
        let (first, second) = match round {
            0 => (vec!["employee", "deactivate", "2"], vec!["employee", "deactivate", "1"]),
            1 => (
                vec!["employee", "update", "2", "--role", "SALES"],
                vec!["employee", "deactivate", "1"],
            ),
            _ => (
                vec!["employee", "deactivate", "2"],
                vec!["employee", "update", "1", "--role", "SUPPORT"],
            ),
        };
        let x = a
            .command(&first)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let y = b
            .command(&second)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (x, y) = (x.wait_with_output().unwrap(), y.wait_with_output().unwrap());
        let managers =
            db.scalar("select count(*) from employees where role = 'MANAGEMENT' and is_active");
        assert_eq!(
            managers,
            "1",
            "round {round}: {} / {}",
            String::from_utf8_lossy(&x.stderr),
            String::from_utf8_lossy(&y.stderr)
        );
    }
}
