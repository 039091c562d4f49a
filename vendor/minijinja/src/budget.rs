//! A hard memory budget per render (relabel patch).
//!
//! Fuel bounds what the engine knows it allocates.  As a second line, the
//! memory a render really allocates is counted by a global allocator that
//! keeps a running total of the bytes allocated (minus those freed) by each
//! thread.  A render notes its thread's total when it starts; every fuel
//! check (each instruction, each charge, each check before a known-size
//! allocation) fails with [`ErrorKind::MemoryBudget`](crate::ErrorKind) once
//! the render has allocated more than
//! [`Environment::set_memory_budget`](crate::Environment::set_memory_budget)
//! allows, and every check before an allocation of a known size refuses one
//! that would pass the budget.
//!
//! A render runs on one thread from start to end (the engine is synchronous),
//! so the thread's total is the render's.  A single allocation cannot be
//! refused by the allocator without aborting the process (Rust's allocator
//! contract), which is why every allocation whose size depends on a template
//! argument is checked before it is made.
//!
//! The counting only works where the program installs the allocator:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: minijinja::budget::CountingAllocator = minijinja::budget::CountingAllocator;
//! ```
//!
//! Without it [`is_counting`] is false and only fuel applies.
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    // Bytes allocated minus bytes freed by this thread.  `const` and without
    // a destructor, so the allocator can use it at any time without
    // allocating itself.
    static NET: Cell<isize> = const { Cell::new(0) };
}

static COUNTING: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting each thread's allocations.
pub struct CountingAllocator;

#[inline]
fn add(n: isize) {
    // `try_with` fails only while the thread is being torn down.
    let _ = NET.try_with(|net| net.set(net.get().wrapping_add(n)));
}

unsafe impl GlobalAlloc for CountingAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            add(layout.size() as isize);
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            add(layout.size() as isize);
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        add(-(layout.size() as isize));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        new
    }
}

/// Bytes allocated minus bytes freed by the current thread so far.
#[inline]
pub fn thread_net() -> isize {
    NET.try_with(|net| net.get()).unwrap_or(0)
}

/// Is the [`CountingAllocator`] the program's allocator?  Checked once by
/// allocating and looking at the count.
pub fn is_counting() -> bool {
    if COUNTING.load(Ordering::Relaxed) {
        return true;
    }
    let before = thread_net();
    let probe = std::hint::black_box(Vec::<u8>::with_capacity(4096));
    let counted = thread_net() - before >= 4096;
    drop(probe);
    if counted {
        COUNTING.store(true, Ordering::Relaxed);
    }
    counted
}

/// The memory one render may allocate, measured from its start.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    base: isize,
    limit: isize,
}

impl MemoryBudget {
    pub(crate) fn start(limit: usize) -> Option<MemoryBudget> {
        if !is_counting() {
            return None;
        }
        Some(MemoryBudget {
            base: thread_net(),
            limit: isize::try_from(limit).unwrap_or(isize::MAX),
        })
    }

    /// Fails if the render has allocated more than its budget, or would with
    /// `more` bytes.
    #[inline]
    pub(crate) fn check(&self, more: u64) -> Result<(), crate::Error> {
        let used = thread_net().saturating_sub(self.base);
        let more = isize::try_from(more).unwrap_or(isize::MAX);
        if used.saturating_add(more) > self.limit {
            Err(crate::Error::new(
                crate::ErrorKind::MemoryBudget,
                format!(
                    "the template would use more than {} MiB of memory",
                    self.limit / (1024 * 1024)
                ),
            ))
        } else {
            Ok(())
        }
    }
}
