//! Progress bars on stderr. They draw only when stderr is a terminal, so
//! pipes, logs and tests see exactly the output they saw without them.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A hidden-unless-a-terminal bar in `style`; its length is set once known.
pub fn bar(style: ProgressStyle) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    ProgressBar::with_draw_target(None, target).with_style(style)
}

/// `⠁ WHAT 1.2 MiB/3.4 MiB (5 MiB/s, eta 1s) =====`: a bar counting bytes.
/// `what` may hold indicatif placeholders such as `{msg}`.
pub fn bytes(what: &str) -> ProgressStyle {
    style(&format!(
        "{{spinner}} {what} {{bytes}}/{{total_bytes}} ({{bytes_per_sec}}, eta {{eta}}) {{wide_bar}}"
    ))
}

/// `⠁ WHAT 3/12 =====`: a bar counting items.
pub fn items(what: &str) -> ProgressStyle {
    style(&format!("{{spinner}} {what} {{pos}}/{{len}} {{wide_bar}}"))
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
