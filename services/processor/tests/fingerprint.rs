//! The checkpoint's derivation fingerprint follows the derivation's sources: the one built in is
//! the hash of the sources as they are, not the package version, and one byte more in a rule is
//! another fingerprint (so an upgrade's first start rebuilds from the topics).

#![allow(dead_code)]

include!("../derivation_fingerprint.rs");

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_fingerprint_is_the_derivations_sources_not_the_package_version() {
    let (hash, files) = fingerprint(&workspace());
    assert_eq!(kouan_processor::checkpoint::BUILD, format!("{hash:016x}"));
    assert_ne!(
        kouan_processor::checkpoint::BUILD,
        env!("CARGO_PKG_VERSION")
    );
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    for needed in [
        "derive.rs",
        "engine/forget.rs",
        "model/src/status.rs",
        "status.proto",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(needed)),
            "{needed} not in {names:?}"
        );
    }
    // a rule changed is another fingerprint: the same sources with one byte more in derive.rs
    let copy = std::env::temp_dir().join(format!("kouan-fingerprint-{}", std::process::id()));
    for file in &files {
        let relative = file.strip_prefix(workspace()).unwrap();
        let target = copy.join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(file, &target).unwrap();
    }
    assert_eq!(fingerprint(&copy).0, hash);
    let derive = copy.join("services/processor/src/derive.rs");
    let mut text = std::fs::read(&derive).unwrap();
    text.push(b'\n');
    std::fs::write(&derive, text).unwrap();
    assert_ne!(fingerprint(&copy).0, hash);
    let _ = std::fs::remove_dir_all(&copy);
}
