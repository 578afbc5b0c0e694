//! What the person running the robot sees while it runs: a spinner with the live counts, one
//! quiet status line (demo), or nothing; and notes printed above it (to stderr).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Progress;

/// The progress display; notes go to stderr whatever the mode.
#[derive(Debug, Clone)]
pub struct Ui {
    bar: Option<ProgressBar>,
}

impl Ui {
    pub fn new(mode: Progress) -> Self {
        let bar = match mode {
            Progress::Hidden => None,
            Progress::Bar => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
                    bar.set_style(style);
                }
                bar.enable_steady_tick(Duration::from_millis(200));
                Some(bar)
            }
            Progress::StatusLine => {
                // Redrawn at most once a second: a booth laptop's terminal stays calm.
                let bar =
                    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(1));
                if let Ok(style) = ProgressStyle::with_template("{msg}") {
                    bar.set_style(style);
                }
                Some(bar)
            }
        };
        Self { bar }
    }

    /// The live line (ignored when hidden).
    pub fn status(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        }
    }

    /// A line above the progress display.
    pub fn note(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{message}")),
            None => eprintln!("{message}"),
        }
    }

    /// Take the progress display off the screen (before the end table).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
