//! `kouan sql`: the operator console. Sends queries to `POST /v1/sql`, asks for Arrow IPC and
//! prints aligned tables; without a query, an interactive prompt with history.

use crate::cli::SqlArgs;
use anyhow::{bail, Context};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::util::pretty::pretty_format_batches;

pub async fn run(args: SqlArgs) -> anyhow::Result<i32> {
    kouan_query::install_crypto();
    let client = reqwest::Client::new();
    let endpoint = format!("{}/v1/sql", args.url.trim_end_matches('/'));
    if let Some(query) = &args.query {
        return match ask(&client, &endpoint, &args.token, query).await {
            Ok(table) => {
                println!("{table}");
                Ok(0)
            }
            Err(error) => {
                eprintln!("error: {error:#}");
                Ok(1)
            }
        };
    }
    let history = std::env::var_os("HOME")
        .map(|home| std::path::PathBuf::from(home).join(".kouan_sql_history"));
    let mut editor = rustyline::DefaultEditor::new().context("starting the prompt")?;
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    println!(
        "kouan sql: {} — end a query with `;`, Ctrl-D to quit",
        args.url
    );
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() {
            "kouan> "
        } else {
            "   ...> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                pending.push_str(&line);
                pending.push('\n');
                if !line.trim_end().ends_with(';') {
                    continue;
                }
                let query = std::mem::take(&mut pending);
                let query = query.trim().trim_end_matches(';').to_string();
                let _ = editor.add_history_entry(&query);
                match ask(&client, &endpoint, &args.token, &query).await {
                    Ok(table) => println!("{table}"),
                    Err(error) => eprintln!("error: {error:#}"),
                }
            }
            Err(rustyline::error::ReadlineError::Interrupted) => pending.clear(),
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(error) => return Err(error).context("reading the prompt"),
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(0)
}

/// Runs one query; the answer as an aligned table with a row count.
async fn ask(
    client: &reqwest::Client,
    endpoint: &str,
    token: &str,
    query: &str,
) -> anyhow::Result<String> {
    let response = client
        .post(endpoint)
        .bearer_auth(token)
        .header("Accept", "application/vnd.apache.arrow.stream")
        .header("Content-Type", "application/json")
        .body(serde_json::json!({ "sql": query }).to_string())
        .send()
        .await
        .with_context(|| format!("sending the query to {endpoint}"))?;
    let status = response.status();
    let truncated = response
        .headers()
        .get("kouan-truncated")
        .is_some_and(|v| v == "true");
    let body = response.bytes().await.context("reading the answer")?;
    if !status.is_success() {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        bail!("{} {message}", status.as_u16());
    }
    let reader = StreamReader::try_new(std::io::Cursor::new(body), None)
        .context("reading the Arrow answer")?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .context("reading the Arrow answer")?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let table = pretty_format_batches(&batches).context("formatting")?;
    Ok(format!(
        "{table}\n({rows} row{}{})",
        if rows == 1 { "" } else { "s" },
        if truncated { ", truncated" } else { "" }
    ))
}
