//! The `kouan` binary: one subcommand per service (API.md).
//!
//! - `cli`: the command line.
//! - `logging`: text or JSON logs on stderr.
//! - `pipeline_metrics`: processor and alerter counters for `/metrics` under `kouan up`.
//! - `shutdown`: the process's one cancellation token, cancelled by Ctrl-C or SIGTERM.
//! - `commands`: one module per subcommand.

mod cli;
mod commands;
mod logging;
mod pipeline_metrics;
mod shutdown;

use clap::Parser;
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicI64, Ordering};

/// Events are many small allocations (ids, codes, lines); mimalloc handles them markedly faster
/// than the system allocator. The wrapper counts live heap bytes for `kouan bench`.
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

static LIVE_HEAP_BYTES: AtomicI64 = AtomicI64::new(0);

struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to mimalloc; the counter only observes sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_HEAP_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_HEAP_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE_HEAP_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_HEAP_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

/// Bytes currently allocated on the heap by this process.
pub fn live_heap_bytes() -> i64 {
    LIVE_HEAP_BYTES.load(Ordering::Relaxed)
}

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
