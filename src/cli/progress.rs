//! Progress on stderr: only on a terminal, never with `--quiet` (indicatif hides itself when
//! stderr is not a terminal). A scan's bar says which file of how many, and for the file at
//! hand the bytes and rows done, the throughput and the time left ([`crate::progress`]),
//! refreshed a few times a second by a thread of its own.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::Context;
use crate::progress::Meter;

/// A bar over the files of a scan and the work within each, or over one long piece of work;
/// nothing at all when quiet.
pub struct Files {
    bar: Option<ProgressBar>,
    /// Dropped to stop the ticker: it wakes at once, not at its next tick (a command's last
    /// step must not wait out a sleep).
    stop: Option<mpsc::Sender<()>>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

/// How often the bar is redrawn from the meter.
const TICK: Duration = Duration::from_millis(150);

/// A bar for the files of a scan: which of how many, and the meter's reading of the one at hand.
pub fn files(ctx: &Context, meter: &Meter) -> Files {
    bar(
        ctx,
        meter,
        "{spinner} {pos}/{len} files  {elapsed}  {wide_msg}",
    )
}

/// A bar for one long piece of work (reading a ledger): the meter's reading.
pub fn work(ctx: &Context, meter: &Meter) -> Files {
    bar(ctx, meter, "{spinner} {elapsed}  {wide_msg}")
}

fn bar(ctx: &Context, meter: &Meter, template: &str) -> Files {
    let none = Files {
        bar: None,
        stop: None,
        ticker: None,
    };
    if ctx.quiet {
        return none;
    }
    let bar = ProgressBar::new(0);
    // Not a terminal: nothing is drawn, so nothing needs refreshing.
    if bar.is_hidden() {
        return none;
    }
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (stop, ticker) = match ticker(&bar, meter, TICK) {
        Some((stop, ticker)) => (Some(stop), Some(ticker)),
        None => (None, None),
    };
    Files {
        bar: Some(bar),
        stop,
        ticker,
    }
}

/// A thread that redraws `bar` from `meter` every `every` until the sender is dropped; None
/// when no thread can be started (the bar is then drawn only as the files go by).
fn ticker(
    bar: &ProgressBar,
    meter: &Meter,
    every: Duration,
) -> Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)> {
    let (stop, stopped) = mpsc::channel::<()>();
    let (bar, meter) = (bar.clone(), meter.clone());
    std::thread::Builder::new()
        .name("piitrail-progress".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                bar.set_message(meter.reading().describe());
                bar.tick();
            }
        })
        .ok()
        .map(|t| (stop, t))
}

impl Files {
    pub fn step(&self, done: usize, total: usize, _next: &Path) {
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    }

    /// Clears the bar (as dropping it does, on an early return too).
    pub fn finish(self) {}
}

impl Drop for Files {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finished command does not wait out the ticker's sleep: dropping the bar wakes it. With
    /// a tick of an hour, the join below would hang if the ticker slept.
    #[test]
    fn dropping_the_bar_stops_its_ticker_at_once() {
        let bar = ProgressBar::hidden();
        let (stop, ticker) =
            ticker(&bar, &Meter::default(), Duration::from_secs(3600)).expect("a thread starts");
        let files = Files {
            bar: Some(bar),
            stop: Some(stop),
            ticker: Some(ticker),
        };
        let (done, joined) = mpsc::channel();
        std::thread::spawn(move || {
            drop(files);
            let _ = done.send(());
        });
        assert!(
            joined.recv_timeout(Duration::from_secs(60)).is_ok(),
            "the ticker was not stopped by dropping the bar"
        );
    }
}
