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
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

/// Events are many small allocations (ids, codes, lines); mimalloc handles them markedly faster
/// than the system allocator. The wrapper counts live heap bytes for the memory benchmarks, and
/// only for them: one counter shared by every thread was a visible share of `kouan ingest`'s
/// CPU, most of it the counter's cache line moving between cores.
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// The live heap count in shards, a thread adding to its own: with one counter the threads
/// decoding a store rebuild in parallel spent much of their time on its cache line. The count is
/// the shards' sum.
static LIVE_HEAP_BYTES: [Shard; SHARDS] = [const { Shard(AtomicI64::new(0)) }; SHARDS];
const SHARDS: usize = 16;
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);
static COUNTING_HEAP: AtomicBool = AtomicBool::new(false);

/// One shard, alone on its cache lines.
#[repr(align(128))]
struct Shard(AtomicI64);

thread_local! {
    /// This thread's shard, taken on its first counted allocation (const, no destructor: the
    /// allocator may run while the thread's other locals are torn down).
    static MY_SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Adds `bytes` to the live heap count while counting is on.
#[inline]
fn count_heap(bytes: i64) {
    if COUNTING_HEAP.load(Ordering::Relaxed) {
        let shard = MY_SHARD
            .try_with(|mine| {
                if mine.get() == usize::MAX {
                    mine.set(NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS);
                }
                mine.get()
            })
            .unwrap_or(0);
        LIVE_HEAP_BYTES[shard].0.fetch_add(bytes, Ordering::Relaxed);
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

/// `mi_option_purge_delay` in the header of mimalloc v3 as libmimalloc-sys 0.1.49 bundles it (the
/// crate leaves the option unnamed): how long a freed page stays committed before it is given
/// back to the OS. Its default is 10 (ms).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const MI_PURGE_DELAY_DEFAULT: std::ffi::c_long = 10;

/// Keeps freed memory committed for reuse instead of giving it back to the OS 10 ms after it is
/// freed (mimalloc's default), unless `MIMALLOC_PURGE_DELAY` says otherwise. A store rebuild
/// (and every decode-heavy path) frees short-lived strings by the million: with the default,
/// the kernel spent much of the rebuild zeroing pages faulted in again (`kouan bench serve`,
/// benchmarks.md). The resident size stays at its high-water mark, which the live state
/// dominates.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: reads and sets one option before any thread but this one runs; mimalloc reads it
    // whenever it considers purging. The option is set only if it holds the purge delay's
    // default, so a mimalloc whose options were renumbered is left as it is.
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == MI_PURGE_DELAY_DEFAULT {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        }
    }
}

/// Turns the live heap count on (until [`stop_counting_heap`]). Memory freed afterwards that
/// was allocated before is subtracted too, so call it before the work to be measured allocates;
/// the benchmarks compare two readings, which such blocks (the command line's own) barely move.
pub fn start_counting_heap() {
    COUNTING_HEAP.store(true, Ordering::Relaxed);
}

/// Turns the live heap count off again: counting costs every allocation an atomic add, which a
/// CPU measurement must not include.
pub fn stop_counting_heap() {
    COUNTING_HEAP.store(false, Ordering::Relaxed);
}

/// Bytes allocated on the heap since [`start_counting_heap`] less those freed since.
pub fn live_heap_bytes() -> i64 {
    LIVE_HEAP_BYTES
        .iter()
        .map(|shard| shard.0.load(Ordering::Relaxed))
        .sum()
}

fn main() -> anyhow::Result<()> {
    keep_freed_memory();
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
