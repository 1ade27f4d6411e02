//! The derivation fingerprint: a hash of the sources that decide what the processor derives and
//! how its state is laid out (the processor's join, derivation, engine and checkpoint format, and
//! the model's events, statuses and their wire forms). A local checkpoint carries it and is used
//! only by a build with the same fingerprint: a new derivation rule never runs on an old build's
//! digests. Any change to these files, comments included, costs one restore from the topics at
//! the first start after an upgrade; nothing else does.

include!("derivation_fingerprint.rs");

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let workspace = manifest.join("../..");
    let (hash, all) = fingerprint(&workspace);
    for source in DERIVATION_SOURCES {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(source).display()
        );
    }
    for file in &all {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!("cargo:rustc-env=KOUAN_DERIVATION_FINGERPRINT={hash:016x}");
}
