//! The `kouan` binary: one subcommand per service (API.md).
//!
//! - `cli`: the command line.
//! - `logging`: text or JSON logs on stderr.
//! - `shutdown`: the process's one cancellation token, cancelled by Ctrl-C or SIGTERM.
//! - `commands`: one module per subcommand.

mod cli;
mod commands;
mod logging;
mod shutdown;

use clap::Parser;

/// Events are many small allocations (ids, codes, lines); mimalloc handles them markedly faster
/// than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    logging::init(cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = runtime.block_on(commands::run(cli))?;
    // Let librdkafka's threads finish before exiting with the command's code.
    drop(runtime);
    std::process::exit(code);
}
