//! One module per subcommand; each returns the process exit code.

mod alert;
mod bench;
mod bench_process;
mod bench_serve;
mod ingest;
mod process;
mod pull;
pub mod replay;
mod serve;
mod simulate;
mod sql;
mod topics;
mod up;

use crate::cli::{BenchCommand, Cli, Command, PullCommand, TopicsCommand};
use kouan_bus::Topics;

pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let topics = Topics::new(cli.namespace);
    let cancel = crate::shutdown::token_cancelled_on_signal();
    match cli.command {
        Command::Topics {
            command: TopicsCommand::Create(args),
        } => topics::create(&args, &topics).await,
        Command::Ingest(args) => ingest::run(args, topics, cancel).await,
        Command::Pull {
            command: PullCommand::Dcsa(args),
        } => pull::dcsa(args, topics, cancel).await,
        Command::Up(args) => up::run(args, topics, cancel).await,
        Command::ReplayDeadLetters(args) => replay::run(args, topics, cancel).await,
        Command::Alert(args) => alert::run(args, topics, cancel).await,
        Command::Process(args) => process::run(args, topics, cancel).await,
        Command::Simulate(args) => simulate::run(args, topics, cancel).await,
        Command::Serve(args) => serve::run(args, topics, cancel).await,
        Command::Sql(args) => sql::run(args).await,
        Command::Bench {
            command: BenchCommand::Serve(args),
        } => {
            crate::start_counting_heap();
            bench_serve::run(args, cancel).await
        }
        Command::Bench {
            command: BenchCommand::Ingest(args),
        } => bench::ingest(args, topics, cancel).await,
        Command::Bench {
            command: BenchCommand::Process(args),
        } => bench_process::run(args, topics, cancel).await,
        Command::Bench {
            command: BenchCommand::Simulate(args),
        } => tokio::task::spawn_blocking(move || simulate::bench(args)).await?,
    }
}
