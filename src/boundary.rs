//! The panic boundary. The Parquet, Arrow IPC and other decoders piitrail relies on can panic
//! on a damaged file (an index out of range in a corrupt page). No input may crash piitrail, and
//! a decoder that dies must never look like the end of the data, so each file's decode runs
//! inside [`catch`], which turns a panic into an error the caller names the file in. The
//! process-wide hook ([`install_hook`], set by the binary) prints nothing itself: every panic
//! reaches the user as an error, sanitised, either at a file boundary (exit 2) or, when it
//! escapes every boundary, at the top of `main` as an internal error (exit 3).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

/// Where the last panic happened (`FILE:LINE`), as the hook saw it.
static LAST_LOCATION: Mutex<Option<String>> = Mutex::new(None);

/// Installs the quiet hook: it records where a panic happened and prints nothing.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        if let Ok(mut last) = LAST_LOCATION.lock() {
            *last = at;
        }
    }));
}

/// What a panic said, sanitised (a decoder may quote the bytes it choked on), with where it
/// happened when the hook saw it.
pub fn describe(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    let at = LAST_LOCATION.lock().ok().and_then(|mut l| l.take());
    let msg = crate::sensitive::sanitise(&msg);
    match at {
        Some(at) => format!("{msg} (at {at})"),
        None => msg,
    }
}

/// Runs `work`, turning a panic inside it (or in a scoped thread it joins) into `Err` with
/// the panic's [`describe`]d message.
pub fn catch<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|p| describe(p.as_ref()))
}

/// Starts a thread in `scope`, or says why the system would not (its limit on threads or
/// memory): a failure of the machine, never of the input, so callers report it as their own
/// internal error (exit 3) instead of letting `std::thread::Scope::spawn` panic.
pub fn spawn_scoped<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    work: impl FnOnce() -> T + Send + 'scope,
) -> Result<std::thread::ScopedJoinHandle<'scope, T>, String> {
    std::thread::Builder::new()
        .spawn_scoped(scope, work)
        .map_err(|e| format!("cannot start a thread: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        let r: Result<(), String> = catch(|| panic!("index 7 out of range"));
        assert!(r.unwrap_err().contains("index 7 out of range"));
        assert_eq!(catch(|| 5), Ok(5));
    }

    #[test]
    fn a_panic_in_a_scoped_thread_is_caught_by_its_joiner() {
        let r = catch(|| {
            std::thread::scope(|s| {
                s.spawn(|| panic!("decoder died"));
            })
        });
        assert!(r.is_err());
    }
}
