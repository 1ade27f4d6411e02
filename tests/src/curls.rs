//! The `curl` commands the documents show, read as a shell would read them, so that a test can
//! send each one to a running kouan and compare the answer with the one shown.
//!
//! A command is a line of a fenced code block that starts with `curl`, with its `\` continuation
//! lines; the answer shown is a comment line right after it that holds JSON (`# {...}`). Words
//! are split as the shell splits them: single quotes keep everything, double quotes and bare words
//! expand `$NAME` from the variables given (an unknown variable is an error, so a document cannot
//! use one the test does not know).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The README, the CHANGELOG and every Markdown file under `docs/`: what a reader reads.
pub fn documents() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("docs/ is readable")
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut documents = vec![root().join("README.md"), root().join("CHANGELOG.md")];
    walk(&root().join("docs"), &mut documents);
    documents
}

/// One request a document shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Curl {
    /// `document:line` of its first line.
    pub place: String,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    /// The answer the document shows for it, when it shows one.
    pub shown: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Text(String),
    /// `@path`: a file's bytes, the path relative to the repository.
    File(String),
}

/// Every `curl` of `text` (the document `name`), with `vars` expanded.
pub fn curls_in(name: &str, text: &str, vars: &HashMap<&str, String>) -> Result<Vec<Curl>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut fenced = false;
    let mut at = 0;
    while at < lines.len() {
        let line = lines[at].trim();
        if line.starts_with("```") {
            fenced = !fenced;
            at += 1;
            continue;
        }
        if !fenced || !line.starts_with("curl ") {
            at += 1;
            continue;
        }
        let place = format!("{name}:{}", at + 1);
        let mut command = String::new();
        loop {
            let part = lines[at].trim();
            at += 1;
            match part.strip_suffix('\\') {
                Some(part) if at < lines.len() => command.push_str(part),
                _ => {
                    command.push_str(part);
                    break;
                }
            }
        }
        let shown = lines
            .get(at)
            .and_then(|next| next.trim().strip_prefix("# "))
            .filter(|comment| comment.starts_with('{') || comment.starts_with('['))
            .map(|json| serde_json::from_str(json).map_err(|e| format!("{place}: answer: {e}")))
            .transpose()?;
        let words = words(&command, vars).map_err(|e| format!("{place}: {e}"))?;
        found.push(parse(place, &words, shown)?);
    }
    Ok(found)
}

fn parse(
    place: String,
    words: &[String],
    shown: Option<serde_json::Value>,
) -> Result<Curl, String> {
    let mut curl = Curl {
        place,
        method: String::new(),
        url: String::new(),
        headers: Vec::new(),
        body: None,
        shown,
    };
    let mut words = words.iter().skip(1);
    while let Some(word) = words.next() {
        let mut value = || {
            words
                .next()
                .cloned()
                .ok_or_else(|| format!("{}: `{word}` without its value", curl.place))
        };
        match word.as_str() {
            "-X" | "--request" => curl.method = value()?,
            "-H" | "--header" => {
                let header = value()?;
                let (name, value) = header
                    .split_once(':')
                    .ok_or_else(|| format!("{}: header `{header}`", curl.place))?;
                curl.headers
                    .push((name.trim().to_string(), value.trim().to_string()));
            }
            "-d" | "--data" | "--data-binary" => {
                let data = value()?;
                curl.body = Some(match data.strip_prefix('@') {
                    Some(path) => Body::File(path.to_string()),
                    None => Body::Text(data),
                });
            }
            url if url.starts_with("http://") || url.starts_with("https://") => {
                curl.url = url.to_string()
            }
            other => {
                return Err(format!(
                    "{}: curl option `{other}` is not known here",
                    curl.place
                ))
            }
        }
    }
    if curl.url.is_empty() {
        return Err(format!("{}: no URL", curl.place));
    }
    if curl.method.is_empty() {
        curl.method = if curl.body.is_some() { "POST" } else { "GET" }.into();
    }
    Ok(curl)
}

/// A command's words as the shell splits them, variables expanded.
fn words(command: &str, vars: &HashMap<&str, String>) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars().peekable();
    let expand = |chars: &mut std::iter::Peekable<std::str::Chars>| -> Result<String, String> {
        let mut name = String::new();
        while let Some(c) = chars
            .peek()
            .copied()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            name.push(c);
            chars.next();
        }
        vars.get(name.as_str())
            .cloned()
            .ok_or_else(|| format!("unknown variable `${name}`"))
    };
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(done) = word.take() {
                    words.push(done);
                }
            }
            '\'' => {
                let text = word.get_or_insert_with(String::new);
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    text.push(c);
                }
            }
            '"' => {
                word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '$' => {
                            let value = expand(&mut chars)?;
                            word.as_mut().expect("started").push_str(&value);
                        }
                        c => word.as_mut().expect("started").push(c),
                    }
                }
            }
            '$' => {
                let value = expand(&mut chars)?;
                word.get_or_insert_with(String::new).push_str(&value);
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_s_curls_are_read_as_the_shell_reads_them() {
        let text = "text\n```sh\n# a comment\ncurl -H \"Authorization: Bearer $T\" 'http://h/x?a=1&b=2'\n\
                    curl -X POST --data-binary @examples/gate-in.edi \\\n  -H \"Authorization: Bearer $T\" http://h/y\n\
                    # {\"taken\":1}\n```\ncurl outside a block\n";
        let vars = HashMap::from([("T", "secret".to_string())]);
        let curls = curls_in("doc.md", text, &vars).unwrap();
        assert_eq!(curls.len(), 2);
        assert_eq!(curls[0].url, "http://h/x?a=1&b=2");
        assert_eq!(curls[0].method, "GET");
        assert_eq!(
            curls[0].headers,
            vec![("Authorization".to_string(), "Bearer secret".to_string())]
        );
        assert_eq!(curls[1].place, "doc.md:5");
        assert_eq!(curls[1].method, "POST");
        assert_eq!(
            curls[1].body,
            Some(Body::File("examples/gate-in.edi".into()))
        );
        assert_eq!(curls[1].shown, Some(serde_json::json!({"taken": 1})));
        let unknown = curls_in(
            "doc.md",
            "```\ncurl -H \"X: $NOPE\" http://h/\n```\n",
            &vars,
        );
        assert!(unknown.unwrap_err().contains("unknown variable `$NOPE`"));
    }
}
