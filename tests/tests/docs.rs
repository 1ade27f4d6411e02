//! The documentation as a reader uses it: every link between the repository's documents leads to
//! a file that exists, nothing points outside the repository, and every `kouan` command and flag
//! the README and `docs/` show exists (`kouan … --help` lists it). Every `curl` they show is sent
//! to a running `kouan up` by the quickstart's test (`quickstart.rs`).

use std::collections::{BTreeMap, BTreeSet};

use kouan_e2e::curls::documents;

/// The targets of a document's Markdown links `[text](target)`.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find(')') {
            found.push(rest[..end].to_string());
        }
    }
    found
}

#[test]
fn every_link_leads_to_a_file_of_the_repository() {
    let mut broken = Vec::new();
    for document in documents() {
        let text = std::fs::read_to_string(&document).unwrap();
        for target in links(&text) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with('#')
            {
                continue;
            }
            let path = target.split('#').next().unwrap();
            let resolved = document.parent().unwrap().join(path);
            if !resolved.exists() {
                broken.push(format!("{}: {target}", document.display()));
            }
        }
        assert!(
            !text.contains("../shared/"),
            "{} points outside the repository",
            document.display()
        );
    }
    assert!(broken.is_empty(), "links to nothing: {broken:#?}");
}

/// Every `kouan SUB [SUB] --flag` shown in the documents: the subcommand path and its flags.
fn commands(text: &str, known: &BTreeSet<Vec<String>>) -> BTreeMap<Vec<String>, BTreeSet<String>> {
    let mut found: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("kouan ") {
            let before = &rest[..at];
            rest = &rest[at + "kouan ".len()..];
            // `kouan` as a word (not `kouan-query`, not `/kouan`)
            if before.ends_with(|c: char| c.is_alphanumeric() || c == '-' || c == '/' || c == '_') {
                continue;
            }
            let words: Vec<&str> = rest
                .split(|c: char| c.is_whitespace() || c == '`' || c == '|')
                .filter(|w| !w.is_empty())
                .take_while(|w| !w.starts_with('['))
                .collect();
            // the longest known subcommand path the words start with
            let path = known
                .iter()
                .filter(|path| {
                    path.len() <= words.len() && path.iter().zip(&words).all(|(a, b)| a == b)
                })
                .max_by_key(|path| path.len());
            let Some(path) = path else { continue };
            let end = rest.find('`').unwrap_or(rest.len());
            let flags = rest[..end]
                .split(|c: char| !(c.is_alphanumeric() || c == '-'))
                .filter(|w| w.starts_with("--") && w.len() > 2)
                .map(String::from);
            found.entry(path.clone()).or_default().extend(flags);
        }
    }
    found
}

fn help(path: &[String]) -> String {
    let output = std::process::Command::new(kouan_e2e::kouan_bin())
        .args(path)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kouan {} --help failed",
        path.join(" ")
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The subcommands `kouan --help` lists, and theirs, two levels deep.
fn subcommands() -> BTreeSet<Vec<String>> {
    fn listed(help: &str) -> Vec<String> {
        let Some(at) = help.find("Commands:") else {
            return Vec::new();
        };
        help[at..]
            .lines()
            .skip(1)
            .take_while(|line| line.starts_with("  "))
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| *name != "help")
            .map(String::from)
            .collect()
    }
    let mut paths = BTreeSet::new();
    for first in listed(&help(&[])) {
        let path = vec![first.clone()];
        for second in listed(&help(&path)) {
            paths.insert(vec![first.clone(), second]);
        }
        paths.insert(path);
    }
    paths
}

#[test]
fn every_command_and_flag_the_documents_show_exists() {
    let known = subcommands();
    assert!(
        known.contains(&vec!["pull".to_string(), "dcsa".to_string()]),
        "{known:?}"
    );
    let mut shown: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for document in documents() {
        let text = std::fs::read_to_string(&document).unwrap();
        for (path, flags) in commands(&text, &known) {
            shown.entry(path).or_default().extend(flags);
        }
    }
    assert!(
        shown.len() >= 10,
        "only {} commands found in the documents",
        shown.len()
    );
    let mut missing = Vec::new();
    for (path, flags) in &shown {
        let help = help(path).replace("--namespace", "");
        for flag in flags {
            let global = ["--namespace", "--log-format", "--help"].contains(&flag.as_str());
            if !global
                && !help.contains(&format!("{flag} "))
                && !help.contains(&format!("{flag}\n"))
                && !help.contains(&format!("{flag}="))
                && !help.contains(&format!("{flag},"))
            {
                missing.push(format!("kouan {} {flag}", path.join(" ")));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "shown in the docs, unknown to kouan: {missing:#?}"
    );
}
