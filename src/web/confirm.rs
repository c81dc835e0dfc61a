//! The confirmation page every destructive or far-reaching action asks first.

use super::page::{Layout, Nav};
use askama::Template;

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
    pub subject: String,
    pub action: String,
    pub button: &'static str,
    pub cancel: String,
    pub danger: bool,
    pub ask_grace: bool,
    pub grace_choices: &'static [(i64, &'static str)],
}

const GRACE_CHOICES: [(i64, &str); 5] = [
    (0, "No grace period: stop it now"),
    (3600, "1 hour"),
    (86_400, "24 hours"),
    (259_200, "3 days"),
    (604_800, "7 days"),
];

impl ConfirmPage {
    /// A confirmation page that posts to `action`; not dangerous and asks nothing more by default.
    pub fn new(
        layout: Layout,
        heading: impl Into<String>,
        message: impl Into<String>,
        subject: impl Into<String>,
        action: impl Into<String>,
        button: &'static str,
        cancel: impl Into<String>,
    ) -> ConfirmPage {
        ConfirmPage {
            layout,
            heading: heading.into(),
            message: message.into(),
            subject: subject.into(),
            action: action.into(),
            button,
            cancel: cancel.into(),
            danger: false,
            ask_grace: false,
            grace_choices: &GRACE_CHOICES,
        }
    }

    /// The button is styled as destructive.
    pub fn danger(mut self) -> ConfirmPage {
        self.danger = true;
        self
    }

    /// Also asks how long the current signing secret stays valid.
    pub fn with_grace(mut self) -> ConfirmPage {
        self.ask_grace = true;
        self
    }
}
