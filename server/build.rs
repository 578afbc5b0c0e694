//! `sqlx::migrate!` embeds the migration files at compile time, but cargo does not know it reads
//! them: without this, a new migration alone would not rebuild the server, and a build would
//! carry the old set.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=migrations-pg");
}
