//! Read-only file mappings that survive the file being truncated while they are read.
//!
//! Why map at all: hashing straight from the page cache is what b3sum does, and copying
//! the bytes out with `pread` first costs ~20 % more CPU per byte (docs/benchmarks.md). Why
//! it needs care: when another process truncates a mapped file, touching a page past the
//! new end raises SIGBUS, which kills the process — a gate must instead report "file changed
//! while it was being hashed" (exit 2).
//!
//! How: every live [`Mapping`] registers its address range in a fixed table of atomics.
//! A SIGBUS handler (installed once, chained to whatever handler was there before, e.g.
//! Rust's stack-overflow handler) looks the faulting address up in the table; if it falls
//! inside a registered mapping, it maps anonymous zero pages over the rest of that mapping
//! (`mmap(MAP_FIXED)`), marks the mapping as cut, and returns, so the interrupted read
//! resumes and sees zeros. The hasher then checks [`Mapping::was_cut`] and turns the digest
//! it computed into the error. A SIGBUS elsewhere is passed on to the previous handler
//! unchanged. When the table is full, [`Mapping::new`] returns `None` and the caller reads
//! with `pread` instead.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

const SLOTS: usize = 512;

/// `START[i]..END[i]` is the address range of live mapping `i` (0..0 when free).
static START: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static END: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static CUT: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
/// Slot claims (separate from START so a half-registered slot never matches).
static USED: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
static PAGE: AtomicUsize = AtomicUsize::new(4096);

static INSTALL: Once = Once::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// The handler that was installed before ours (written once, before ours is live).
static mut PREVIOUS: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::uninit();

extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for a SA_SIGINFO handler; for SIGBUS
    // `si_addr` is the faulting address.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE.load(Ordering::Relaxed);
    for i in 0..SLOTS {
        let (s, e) = (
            START[i].load(Ordering::Acquire),
            END[i].load(Ordering::Acquire),
        );
        if s <= addr && addr < e {
            let from = addr & !(page - 1);
            // SAFETY: `from..e` lies inside a live mapping owned by a `Mapping` (registered
            // only while it is mapped); replacing those pages by private anonymous zero
            // pages keeps the range mapped and readable, so the interrupted read resumes.
            // mmap is a plain system call (no locks, no allocation), safe in a handler.
            let r = unsafe {
                libc::mmap(
                    from as *mut libc::c_void,
                    e - from,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if r != libc::MAP_FAILED {
                CUT[i].store(true, Ordering::Release);
                return;
            }
        }
    }
    // Not ours: behave as if we were not here.
    // SAFETY: PREVIOUS was written before our handler was installed and never again.
    let prev = unsafe { (*std::ptr::addr_of!(PREVIOUS)).assume_init_ref() };
    if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: with SA_SIGINFO, sa_sigaction is a three-argument handler.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(sig, info, ctx);
    } else if prev.sa_sigaction == libc::SIG_DFL || prev.sa_sigaction == libc::SIG_IGN {
        // Restore the default and return: the faulting access repeats and kills the
        // process with SIGBUS exactly as without us.
        // SAFETY: resetting a signal disposition with a zeroed, valid sigaction.
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
        }
    } else {
        // SAFETY: without SA_SIGINFO, sa_sigaction is a one-argument handler.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(sig);
    }
}

fn install() -> bool {
    INSTALL.call_once(|| {
        // SAFETY: sysconf has no preconditions.
        let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if p > 0 {
            PAGE.store(p as usize, Ordering::Relaxed);
        }
        // SAFETY: a zeroed sigaction with our handler, SA_SIGINFO and an empty mask is
        // valid; PREVIOUS is written here, once, before the handler can run.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigbus as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            let prev = &mut *std::ptr::addr_of_mut!(PREVIOUS);
            if libc::sigaction(libc::SIGBUS, &sa, prev.as_mut_ptr()) == 0 {
                INSTALLED.store(true, Ordering::Release);
            }
        }
    });
    INSTALLED.load(Ordering::Acquire)
}

/// A read-only shared mapping of a whole file, registered with the SIGBUS handler.
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
    slot: usize,
}

// SAFETY: the mapping is read-only and owned; sharing `&[u8]` views across threads is as
// safe as for any immutable buffer.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Map `len` (> 0) bytes of `file`; `Ok(None)` when no slot or no handler is
    /// available (the caller then reads with `pread`).
    pub fn new(file: &File, len: u64) -> std::io::Result<Option<Mapping>> {
        if len == 0 || len > usize::MAX as u64 || !install() {
            return Ok(None);
        }
        let Some(slot) = (0..SLOTS).find(|&i| {
            USED[i]
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        }) else {
            return Ok(None);
        };
        let len = len as usize;
        // SAFETY: mapping a file we hold open, read-only and shared, at an address the
        // kernel chooses; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            USED[slot].store(false, Ordering::Release);
            return Err(std::io::Error::last_os_error());
        }
        let page = PAGE.load(Ordering::Relaxed);
        let end = (ptr as usize + len + page - 1) & !(page - 1);
        CUT[slot].store(false, Ordering::Relaxed);
        END[slot].store(end, Ordering::Release);
        START[slot].store(ptr as usize, Ordering::Release);
        Ok(Some(Mapping { ptr, len, slot }))
    }

    /// The mapped bytes. If the file shrinks while they are read, the missing part reads
    /// as zeros and [`Mapping::was_cut`] becomes true.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr..ptr+len` is mapped readable for the life of `self` (a SIGBUS
        // replaces pages by zero pages, it never unmaps them). The content may change
        // under the reference if another process writes the file — the hasher's
        // size/mtime check and `was_cut` turn that into an error, and a byte slice has no
        // invariant that changed bytes could break.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }

    /// Did reading hit the end of a file that had been truncated?
    pub fn was_cut(&self) -> bool {
        CUT[self.slot].load(Ordering::Acquire)
    }

    /// Drop the pages of `offset..offset+len` from this process's page tables (they stay
    /// in the page cache), so resident memory stays at a few chunks.
    pub fn release(&self, offset: usize, len: usize) {
        let page = PAGE.load(Ordering::Relaxed);
        let start = (offset + page - 1) & !(page - 1);
        let end = (offset + len).min(self.len) & !(page - 1);
        if end > start {
            // SAFETY: MADV_DONTNEED on a read-only mapping we own only drops page-table
            // entries; a later access re-reads the same bytes (or a zero page), so no
            // reference into the mapping observes a difference.
            unsafe {
                libc::madvise(
                    (self.ptr as usize + start) as *mut libc::c_void,
                    end - start,
                    libc::MADV_DONTNEED,
                );
            }
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        START[self.slot].store(0, Ordering::Release);
        END[self.slot].store(0, Ordering::Release);
        // SAFETY: unmapping the range we mapped (including any zero pages laid over it).
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
        USED[self.slot].store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In a child process: install the handler, then fault on a mapping that is *not*
    /// registered (a file truncated under a plain mmap). The SIGBUS must not be swallowed.
    #[test]
    fn foreign_sigbus_still_kills() {
        if std::env::var_os("MLGUARD_FOREIGN_SIGBUS_CHILD").is_some() {
            assert!(install());
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("f");
            std::fs::write(&p, vec![1u8; 1 << 20]).unwrap();
            let f = File::open(&p).unwrap();
            // SAFETY: a plain read-only mapping of a 1 MiB file, read after truncation on
            // purpose (this process is expected to die of SIGBUS).
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    1 << 20,
                    libc::PROT_READ,
                    libc::MAP_SHARED,
                    f.as_raw_fd(),
                    0,
                )
            };
            assert_ne!(ptr, libc::MAP_FAILED);
            std::fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .unwrap()
                .set_len(0)
                .unwrap();
            // SAFETY: see above; the read faults.
            let b = unsafe { std::ptr::read_volatile((ptr as *const u8).add(4096)) };
            // Only reached if the SIGBUS was swallowed.
            std::process::exit(b as i32 + 100);
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "integrity::mapped::tests::foreign_sigbus_still_kills",
                "--nocapture",
            ])
            .env("MLGUARD_FOREIGN_SIGBUS_CHILD", "1")
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGBUS),
            "{:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
