// `sqlx::migrate!()` embeds migrations/ at compile time; make cargo notice a new file there.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
