//! `<auto-logout-countdown>`: the countdown as a custom element for any HTML page. The page
//! loads one module script from the engine's router; its JavaScript half (`js/element.js`)
//! defines the element and, when one is connected, makes a [`CountdownElement`] that draws
//! into the element's shadow root and runs a [`Countdown`].
//!
//! Attributes (all optional): `sign-in` (the sign-in page, default `/sign-in`), `status` and
//! `extend` (the engine's endpoints), `sign-out` (a path to `POST` to sign out; without it the
//! warning offers no "Sign out"), `warn-before` (seconds; default the server's), `warning-title`,
//! `warning-text` (with `{time}` for the time left), `stay-label`, and `track-activity`
//! (input on the page counts as activity).
//!
//! Styling: custom properties `--auto-logout-color`, `--auto-logout-background`,
//! `--auto-logout-accent`, `--auto-logout-accent-text`, `--auto-logout-font` and
//! `--auto-logout-radius`, and the parts `bar`, `limit`, `label`, `clock`, `backdrop`, `dialog`,
//! `title`, `message`, `actions`, `stay` and `sign-out`. The `data-testid` hooks are those of
//! SPEC §5.

use crate::{
    browser::{Countdown, Options},
    rules::{
        fill_time, format_clock, session_label_text, warning_sentence, Phase, Reading,
        OWN_DIALOG_ATTRIBUTE,
    },
};
use std::rc::Rc;
use wasm_bindgen::{closure::Closure, prelude::wasm_bindgen, JsCast, JsValue};
use web_sys::{Element, HtmlElement, ShadowRootInit, ShadowRootMode};

/// The default look: a bar, and a centred dialog over a dimmed page.
const STYLE: &str = r#"
:host { display: block; font: var(--auto-logout-font, inherit); color: var(--auto-logout-color, inherit); }
.bar { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; padding: .5rem .75rem;
  background: var(--auto-logout-background, #f4f6f8); border-radius: var(--auto-logout-radius, 6px); }
.limit[hidden], .backdrop[hidden], .stay[hidden] { display: none; }
strong { font-variant-numeric: tabular-nums; }
.backdrop { position: fixed; inset: 0; z-index: 2147483647; display: flex; align-items: center;
  justify-content: center; background: rgb(0 0 0 / .45); padding: 1rem; }
.dialog { max-width: 28rem; width: 100%; padding: 1.25rem 1.5rem; color: var(--auto-logout-color, #1b1f24);
  background: var(--auto-logout-dialog-background, #fff); border-radius: var(--auto-logout-radius, 6px);
  box-shadow: 0 10px 30px rgb(0 0 0 / .3); }
.title { margin: 0 0 .5rem; font-size: 1.2rem; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: 1rem; }
button { font: inherit; padding: .45rem .9rem; border-radius: var(--auto-logout-radius, 6px); cursor: pointer;
  border: 1px solid var(--auto-logout-accent, #1f6feb); }
.stay { background: var(--auto-logout-accent, #1f6feb); color: var(--auto-logout-accent-text, #fff); }
.sign-out { background: transparent; color: inherit; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
"#;

/// What the element shows, kept to update in place.
struct View {
    idle: Element,
    idle_clock: Element,
    session: Element,
    session_label: Element,
    session_clock: Element,
    backdrop: Element,
    announcement: Element,
    message: Element,
    stay: HtmlElement,
    warning_text: Option<String>,
}

/// One connected `<auto-logout-countdown>`: its drawing and its running countdown. The
/// element's script frees it when the element leaves the page, which stops the countdown.
#[wasm_bindgen]
pub struct CountdownElement {
    countdown: Rc<Countdown>,
    /// The buttons' handlers, dropped with the element's countdown.
    _handlers: Vec<Closure<dyn Fn()>>,
}

#[wasm_bindgen]
impl CountdownElement {
    /// Draws into `host`'s shadow root and starts counting, configured by its attributes.
    #[wasm_bindgen(constructor)]
    pub fn new(host: HtmlElement) -> Result<CountdownElement, JsValue> {
        let document = host
            .owner_document()
            .ok_or_else(|| JsValue::from_str("the element is not in a document"))?;
        let root = match host.shadow_root() {
            Some(root) => root,
            None => host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?,
        };
        root.set_inner_html("");
        let attr = |name: &str| host.get_attribute(name).filter(|v| !v.is_empty());
        let defaults = Options::default();
        let options = Options {
            status_path: attr("status").unwrap_or(defaults.status_path),
            extend_path: attr("extend").unwrap_or(defaults.extend_path),
            sign_in_path: attr("sign-in").unwrap_or(defaults.sign_in_path),
            warn_before_ms: attr("warn-before")
                .and_then(|v| v.trim().parse::<u32>().ok())
                .map(|secs| i64::from(secs) * 1_000),
            report_input: host.has_attribute("track-activity"),
            ..defaults
        };
        let make = |tag: &str, parent: &web_sys::Node, attrs: &[(&str, &str)]| {
            let el = document.create_element(tag)?;
            for (name, value) in attrs {
                el.set_attribute(name, value)?;
            }
            parent.append_child(&el)?;
            Ok::<Element, JsValue>(el)
        };
        let style = make("style", &root, &[])?;
        style.set_text_content(Some(STYLE));
        let bar = make(
            "div",
            &root,
            &[
                ("part", "bar"),
                ("class", "bar"),
                ("role", "timer"),
                ("aria-label", "Time left in this session"),
            ],
        )?;
        let limit = |label: &str, testid: &str| {
            let span = make(
                "span",
                &bar,
                &[("part", "limit"), ("class", "limit"), ("hidden", "")],
            )?;
            let label_element = make("span", &span, &[("part", "label")])?;
            label_element.set_text_content(Some(label));
            let clock = make(
                "strong",
                &span,
                &[("part", "clock"), ("data-testid", testid)],
            )?;
            Ok::<_, JsValue>((span, label_element, clock))
        };
        let (idle, _, idle_clock) = limit("Inactivity sign-out in ", "idle-countdown")?;
        let (session, session_label, session_clock) =
            limit(session_label_text(false), "session-countdown")?;
        let backdrop = make(
            "div",
            &root,
            &[("part", "backdrop"), ("class", "backdrop"), ("hidden", "")],
        )?;
        let dialog = make(
            "div",
            &backdrop,
            &[
                ("part", "dialog"),
                ("class", "dialog"),
                ("role", "alertdialog"),
                (OWN_DIALOG_ATTRIBUTE, ""),
                ("aria-modal", "true"),
                ("aria-labelledby", "auto-logout-title"),
                ("aria-describedby", "auto-logout-announcement"),
                ("data-testid", "expiry-warning"),
            ],
        )?;
        make(
            "h2",
            &dialog,
            &[
                ("part", "title"),
                ("class", "title"),
                ("id", "auto-logout-title"),
            ],
        )?
        .set_text_content(Some(
            &attr("warning-title").unwrap_or_else(|| "Your session is about to end".to_owned()),
        ));
        let announcement = make(
            "p",
            &dialog,
            &[("class", "sr-only"), ("id", "auto-logout-announcement")],
        )?;
        let message = make(
            "p",
            &dialog,
            &[
                ("part", "message"),
                ("aria-hidden", "true"),
                ("data-testid", "expiry-clock"),
            ],
        )?;
        let actions = make("div", &dialog, &[("part", "actions"), ("class", "actions")])?;
        let stay: HtmlElement = make(
            "button",
            &actions,
            &[
                ("type", "button"),
                ("part", "stay"),
                ("class", "stay"),
                ("data-testid", "stay-signed-in"),
            ],
        )?
        .dyn_into()?;
        stay.set_text_content(Some(
            &attr("stay-label").unwrap_or_else(|| "Stay signed in".to_owned()),
        ));
        let sign_out_form = match attr("sign-out") {
            Some(action) => {
                let form = make("form", &actions, &[("method", "post"), ("action", &action)])?;
                make(
                    "button",
                    &form,
                    &[
                        ("type", "submit"),
                        ("part", "sign-out"),
                        ("class", "sign-out"),
                        ("data-testid", "warning-sign-out"),
                    ],
                )?
                .set_text_content(Some("Sign out"));
                Some(form)
            }
            None => None,
        };
        let view = View {
            idle,
            idle_clock,
            session,
            session_label,
            session_clock,
            backdrop,
            announcement,
            message,
            stay: stay.clone(),
            warning_text: attr("warning-text"),
        };
        let countdown = Rc::new(Countdown::start(options, move |reading| {
            view.show(reading);
        }));
        // The buttons hold the countdown weakly: the element's `free()` stops it.
        let on = |act: fn(&Countdown)| {
            let weak = Rc::downgrade(&countdown);
            Closure::<dyn Fn()>::new(move || {
                if let Some(countdown) = weak.upgrade() {
                    act(&countdown);
                }
            })
        };
        let on_stay = on(Countdown::stay_signed_in);
        stay.set_onclick(Some(on_stay.as_ref().unchecked_ref()));
        let mut handlers = vec![on_stay];
        if let Some(form) = sign_out_form {
            let on_submit = on(Countdown::stand_down);
            form.dyn_into::<web_sys::HtmlFormElement>()?
                .set_onsubmit(Some(on_submit.as_ref().unchecked_ref()));
            handlers.push(on_submit);
        }
        Ok(CountdownElement {
            countdown,
            _handlers: handlers,
        })
    }

    /// "Stay signed in", for a page's own button.
    #[wasm_bindgen(js_name = staySignedIn)]
    pub fn stay_signed_in(&self) {
        self.countdown.stay_signed_in();
    }
}

impl View {
    fn show(&self, reading: &Reading) {
        let clock = |span: &Element, strong: &Element, seconds: Option<u64>| match seconds {
            Some(s) => {
                let _ = span.remove_attribute("hidden");
                let _ = strong.set_attribute("data-seconds", &s.to_string());
                strong.set_text_content(Some(&format_clock(s)));
            }
            None => {
                let _ = span.set_attribute("hidden", "");
            }
        };
        clock(&self.idle, &self.idle_clock, reading.idle);
        clock(&self.session, &self.session_clock, reading.session);
        let label = session_label_text(reading.scheduled);
        if self.session_label.text_content().as_deref() != Some(label) {
            self.session_label.set_text_content(Some(label));
        }
        match reading.phase {
            Phase::Warning {
                seconds_left,
                absolute_first,
            } => {
                let text = match &self.warning_text {
                    Some(template) => fill_time(template, seconds_left),
                    None => warning_sentence(seconds_left, absolute_first, reading.scheduled),
                };
                self.message.set_text_content(Some(&text));
                let opening = self.backdrop.has_attribute("hidden");
                if opening {
                    // Announced once, when it opens; the ticking text beside it is hidden
                    // from assistive technology.
                    self.announcement.set_text_content(Some(&text));
                    let _ = self.backdrop.remove_attribute("hidden");
                }
                if absolute_first {
                    let _ = self.stay.set_attribute("hidden", "");
                } else {
                    let _ = self.stay.remove_attribute("hidden");
                    if opening {
                        let _ = self.stay.focus();
                    }
                }
            }
            Phase::Counting | Phase::Ended(_) => {
                let _ = self.backdrop.set_attribute("hidden", "");
            }
        }
    }
}
