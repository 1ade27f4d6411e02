// The derivation fingerprint (`build.rs` and the checkpoint's tests read this file): a hash of
// the sources that decide what the processor derives and how its state is laid out.

use std::path::{Path, PathBuf};

/// The files and directories (relative to the workspace) whose content is the derivation.
pub const DERIVATION_SOURCES: &[&str] = &[
    "services/processor/src/affected.rs",
    "services/processor/src/belonging.rs",
    "services/processor/src/changelog.rs",
    "services/processor/src/checkpoint.rs",
    "services/processor/src/derive.rs",
    "services/processor/src/engine.rs",
    "services/processor/src/engine",
    "services/processor/src/names.rs",
    "services/processor/src/park.rs",
    "services/processor/src/reference.rs",
    "services/processor/src/retention.rs",
    "services/processor/src/spill.rs",
    "services/processor/src/versions.rs",
    "services/model/src",
    "proto",
];

fn files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            files(&entry, out);
        }
    } else {
        out.push(path.to_path_buf());
    }
}

/// FNV-1a 64 over each file's workspace path and content, in path order.
fn fingerprint(workspace: &Path) -> (u64, Vec<PathBuf>) {
    let mut all = Vec::new();
    for source in DERIVATION_SOURCES {
        files(&workspace.join(source), &mut all);
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for file in &all {
        let relative = file.strip_prefix(workspace).unwrap_or(file);
        feed(relative.to_string_lossy().replace('\\', "/").as_bytes());
        feed(&[0]);
        feed(&std::fs::read(file).unwrap_or_else(|error| panic!("reading {}: {error}", file.display())));
        feed(&[0]);
    }
    (hash, all)
}
