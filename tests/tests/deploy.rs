//! `deploy/` parses, and names only subcommands, flags and environment variables that exist.

use kouan_e2e::kouan_bin;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

/// Every `command:` / `args:` list of strings, and every `KOUAN_*` key, anywhere in the document.
fn collect(yaml: &Yaml, commands: &mut Vec<Vec<String>>, variables: &mut BTreeSet<String>) {
    match yaml {
        Yaml::Hash(map) => {
            for (key, value) in map {
                let key = key.as_str().unwrap_or_default();
                if key.starts_with("KOUAN_") {
                    variables.insert(key.to_string());
                }
                // Kubernetes `env: [{name: KOUAN_…, value: …}]`
                if let ("name", Some(name)) = (key, value.as_str()) {
                    if name.starts_with("KOUAN_") {
                        variables.insert(name.to_string());
                    }
                }
                if let ("command" | "args", Yaml::Array(items)) = (key, value) {
                    commands.push(
                        items
                            .iter()
                            .map(|item| item.as_str().expect("string arguments").to_string())
                            .collect(),
                    );
                }
                collect(value, commands, variables);
            }
        }
        Yaml::Array(items) => items
            .iter()
            .for_each(|item| collect(item, commands, variables)),
        _ => {}
    }
}

fn help(words: &[&str]) -> String {
    let output = Command::new(kouan_bin())
        .args(words)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`kouan {} --help` fails: {}",
        words.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn deploy_files_name_only_what_exists() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let mut commands = Vec::new();
    let mut variables = BTreeSet::new();
    let mut documents = 0;
    for file in ["docker-compose.yml", "k8s/kouan.yaml"] {
        let text = std::fs::read_to_string(deploy.join(file)).unwrap();
        let parsed =
            YamlLoader::load_from_str(&text).unwrap_or_else(|error| panic!("{file}: {error}"));
        documents += parsed.len();
        for document in &parsed {
            collect(document, &mut commands, &mut variables);
        }
    }
    assert!(documents >= 6, "{documents} YAML documents");
    let subcommands: BTreeSet<String> = commands.iter().map(|c| c[0].clone()).collect();
    for expected in ["topics", "process", "alert", "simulate", "serve"] {
        assert!(
            subcommands.contains(expected),
            "deploy/ runs no `{expected}`"
        );
    }
    let mut helps = String::new();
    for command in &commands {
        let words: Vec<&str> = command.iter().map(String::as_str).collect();
        // the subcommand path: leading words that are not flags or values
        let path: Vec<&str> = if words[0] == "topics" {
            words[..2].to_vec()
        } else {
            words[..1].to_vec()
        };
        let text = help(&path);
        for flag in words.iter().filter(|word| word.starts_with("--")) {
            assert!(
                text.contains(&format!("{flag} ")) || text.contains(&format!("{flag}\n")),
                "`kouan {}` has no {flag}",
                path.join(" ")
            );
        }
        helps.push_str(&text);
    }
    helps.push_str(&help(&[]));
    for variable in &variables {
        assert!(
            helps.contains(&format!("env: {variable}=")),
            "no command reads {variable}"
        );
    }
    assert!(variables.contains("KOUAN_AUTH_FILE") && variables.contains("KOUAN_LISTEN"));
    let manifests = std::fs::read_to_string(deploy.join("k8s/kouan.yaml")).unwrap();
    let service = YamlLoader::load_from_str(&manifests)
        .unwrap()
        .into_iter()
        .find(|d| d["kind"].as_str() == Some("Service"))
        .expect("the store behind a Service");
    assert_eq!(
        service["spec"]["selector"]["app"].as_str(),
        Some("kouan-serve")
    );
    let dockerfile = std::fs::read_to_string(deploy.join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("cargo build --release -p kouan")
            && dockerfile.contains("ENTRYPOINT [\"kouan\"]")
    );
}
