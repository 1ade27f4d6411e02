//! An append-only scratch file on local disk, for state the engine keeps out of memory
//! ([`crate::spill`], [`crate::park`]): records are appended and read back where they were
//! written, and the file is rewritten once the records let go of outweigh the live ones.
//! Appends gather in a buffer of [`WRITE_BUFFER`] bytes, written out when full: parking writes
//! some 80,000 blocks of ~1.2 KB over the bench's million events, one at a time.
//!
//! It is scratch, not state of record: the file is unlinked as soon as it is created (the open
//! handle keeps it; nothing is left behind, not even after a kill -9), and what it holds is in
//! the internal topics and in the local checkpoint. Its pages live in the kernel's page cache,
//! not in the process's heap, and go to disk when memory is short.

use std::fs::File;
use std::hash::BuildHasher;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Where one record lies in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub offset: u64,
    pub len: u32,
}

/// Dead bytes above which a file may be rewritten.
const COMPACT_ABOVE: u64 = 64 << 20;

/// Appends are written out once this many bytes are waiting.
pub const WRITE_BUFFER: usize = 256 << 10;

#[derive(Debug)]
pub struct ScratchFile {
    dir: PathBuf,
    /// The file name's start, so that an operator listing the directory mid-creation knows it.
    prefix: &'static str,
    file: Option<File>,
    /// Bytes written to the file; the records after it are in `buffer`.
    flushed: u64,
    buffer: Vec<u8>,
    end: u64,
    /// Bytes of records let go of.
    garbage: u64,
    /// Dead bytes above which the file may be compacted.
    compact_above: u64,
}

impl ScratchFile {
    /// A scratch file to be made in `dir` (at the first record), named from `prefix`.
    pub fn in_dir(dir: impl AsRef<Path>, prefix: &'static str) -> Self {
        ScratchFile {
            dir: dir.as_ref().to_path_buf(),
            prefix,
            file: None,
            flushed: 0,
            buffer: Vec::new(),
            end: 0,
            garbage: 0,
            compact_above: COMPACT_ABOVE,
        }
    }

    #[cfg(test)]
    pub(crate) fn compact_above(&mut self, bytes: u64) {
        self.compact_above = bytes;
    }

    /// Bytes written to the current file, live and dead.
    pub fn written(&self) -> u64 {
        self.end
    }

    /// Bytes of the current file that no record needs any more.
    pub fn garbage(&self) -> u64 {
        self.garbage
    }

    fn file(&mut self) -> std::io::Result<&File> {
        if self.file.is_none() {
            std::fs::create_dir_all(&self.dir)?;
            let nonce = foldhash::quality::FixedState::with_seed(0x6b6f_7561_6e33)
                .hash_one(format!("{:?}", std::time::Instant::now()));
            let path = self.dir.join(format!(
                "kouan-{}-{}-{nonce:x}",
                self.prefix,
                std::process::id()
            ));
            let file = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?;
            std::fs::remove_file(&path)?;
            self.file = Some(file);
        }
        Ok(self.file.as_ref().expect("just opened"))
    }

    /// Appends `bytes`. An error is of writing out the buffer, which then keeps what it holds
    /// (readable as ever, in memory); the caller should stop appending.
    pub fn append(&mut self, bytes: &[u8]) -> std::io::Result<Extent> {
        if self.buffer.len() + bytes.len() > WRITE_BUFFER {
            self.flush()?;
        }
        let offset = self.end;
        if self.buffer.capacity() == 0 && bytes.len() < WRITE_BUFFER {
            self.buffer.reserve_exact(WRITE_BUFFER);
        }
        self.buffer.extend_from_slice(bytes);
        self.end += bytes.len() as u64;
        Ok(Extent {
            offset,
            len: bytes.len() as u32,
        })
    }

    /// Writes out what the buffer holds.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let at = self.flushed;
        let buffer = std::mem::take(&mut self.buffer);
        let written = self.file().and_then(|file| file.write_all_at(&buffer, at));
        self.buffer = buffer;
        written?;
        self.flushed += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// The bytes at `extent`, as [`ScratchFile::append`] was given them.
    pub fn read(&self, extent: Extent) -> Vec<u8> {
        if extent.offset >= self.flushed {
            let start = (extent.offset - self.flushed) as usize;
            return self.buffer[start..start + extent.len as usize].to_vec();
        }
        let mut bytes = vec![0; extent.len as usize];
        self.file
            .as_ref()
            .expect("a record was written out, so the file exists")
            .read_exact_at(&mut bytes, extent.offset)
            .expect("the scratch file reads back what was written to it");
        bytes
    }

    /// Lets go of the record at `extent` (its bytes stay until the file is compacted).
    pub fn free(&mut self, extent: Extent) {
        self.garbage += u64::from(extent.len);
    }

    /// Whether the dead records outweigh the live ones, and are many.
    pub fn worth_compacting(&self) -> bool {
        self.garbage >= self.compact_above && self.garbage >= self.end - self.garbage
    }

    /// Copies the live records — every extent the caller still holds, all of them — into a new
    /// file, and points the extents at their new places.
    pub fn compact<'a>(&mut self, live: impl Iterator<Item = &'a mut Extent>) {
        if self.flush().is_err() {
            // the buffer stays as it was: compacting can wait
            return;
        }
        let Some(old) = self.file.take() else {
            return;
        };
        let mut live: Vec<&mut Extent> = live.collect();
        live.sort_by_key(|extent| extent.offset);
        self.end = 0;
        self.flushed = 0;
        self.garbage = 0;
        for extent in live {
            let mut bytes = vec![0; extent.len as usize];
            old.read_exact_at(&mut bytes, extent.offset)
                .expect("the scratch file reads back what was written to it");
            *extent = self
                .append(&bytes)
                .expect("the scratch file is rewritten where it was written");
        }
    }
}
