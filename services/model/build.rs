//! Compiles `proto/kouan/v1/*.proto` with protox (pure Rust), so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../proto");
    let files = [
        "kouan/v1/events.proto",
        "kouan/v1/status.proto",
        "kouan/v1/alert.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={proto_root}/{file}");
    }
    let descriptors = protox::compile(files, [proto_root])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
