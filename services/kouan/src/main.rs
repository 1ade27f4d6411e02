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
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// Events are many small allocations (ids, codes, lines); mimalloc handles them markedly faster
/// than the system allocator. The wrapper counts live heap bytes for the memory benchmarks, and
/// only for them: one counter shared by every thread cost 7% of `kouan ingest`'s CPU, most of it
/// the counter's cache line moving between cores.
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

static LIVE_HEAP_BYTES: AtomicI64 = AtomicI64::new(0);
static COUNTING_HEAP: AtomicBool = AtomicBool::new(false);

/// Adds `bytes` to the live heap count while counting is on.
#[inline]
fn count_heap(bytes: i64) {
    if COUNTING_HEAP.load(Ordering::Relaxed) {
        LIVE_HEAP_BYTES.fetch_add(bytes, Ordering::Relaxed);
    }
}

struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to mimalloc; the counter only observes sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_heap(layout.size() as i64);
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count_heap(-(layout.size() as i64));
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_heap(layout.size() as i64);
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_heap(new_size as i64 - layout.size() as i64);
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

/// Turns the live heap count on for the rest of the process. Memory freed afterwards that was
/// allocated before is subtracted too, so call it before the work to be measured allocates; the
/// benchmarks compare two readings, which such blocks (the command line's own) barely move.
pub fn start_counting_heap() {
    COUNTING_HEAP.store(true, Ordering::Relaxed);
}

/// Bytes allocated on the heap since [`start_counting_heap`] less those freed since.
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
