//! `TryCell`: the non-blocking, single-borrower cell that holds a Python `Model`'s Rust state.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::PyResult;

use super::NamBusyError;

/// A cell that one thread at a time may borrow, and that never waits: a second borrower gets
/// `None` (mapped to `NamBusyError`). Unlike a mutex there is nothing to block on, so the audio
/// path takes no lock; unlike PyO3's own borrow flag it leaves the rest of the object free, so
/// the atomic controls (slimmable size, GIL threshold, counters) work while another thread
/// processes.
pub(super) struct TryCell<T> {
    busy: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `TryCell::borrow`, which hands out at most one guard.
unsafe impl<T: Send> Sync for TryCell<T> {}

pub(super) struct Borrowed<'a, T> {
    cell: &'a TryCell<T>,
}

impl<T> TryCell<T> {
    pub(super) fn new(value: T) -> Self {
        TryCell { busy: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    pub(super) fn borrow(&self) -> PyResult<Borrowed<'_, T>> {
        match self.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => Ok(Borrowed { cell: self }),
            Err(_) => Err(NamBusyError::new_err(
                "this model is being used by another thread; use model.copy() for each thread",
            )),
        }
    }
}

impl<T> std::ops::Deref for Borrowed<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one (see `borrow`).
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> std::ops::DerefMut for Borrowed<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for Borrowed<'_, T> {
    fn drop(&mut self) {
        self.cell.busy.store(false, Ordering::Release);
    }
}
