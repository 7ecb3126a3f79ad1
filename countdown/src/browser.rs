//! The countdown in a browser page: reads the engine's status endpoint (passively), ticks
//! over monotonic deadlines, reports activity ("Stay signed in", and input when asked to),
//! keeps the page's tabs in step over a `BroadcastChannel`, and leaves for the sign-in page at
//! zero. It draws nothing: whoever starts it gets every new [`Reading`] and shows it.
//!
//! When the server says the session ends with its last tab (`ends_with_last_tab`), the page
//! also tells the server what its tab is doing (see [`crate::tabs`]): `visible` on every read
//! while visible, `hidden` when it is hidden, and, as it goes (`pagehide`, with
//! `navigator.sendBeacon`), `closed` when it is the last open tab of the session.

use crate::rules::{
    Deadlines, Phase, Reading, Remaining, OWN_DIALOG_ATTRIBUTE, REFRESH_MS, REPORT_EVERY_MS,
    TICK_MS,
};
use crate::tabs::{beat_signal, closing_signal, TabEntry, Tabs, STORAGE_KEY};
use auto_logout::{last_tab::TabSignal, redirect::sign_in_url_at, SignInReason};
use gloo_timers::callback::Interval;
use js_sys::Reflect;
use std::{
    cell::RefCell,
    rc::{Rc, Weak},
};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{BroadcastChannel, MessageEvent, RequestCredentials, RequestInit, Response};

/// The channel name every tab of a site uses unless told otherwise.
pub const DEFAULT_CHANNEL: &str = "auto-logout";
/// What a tab posts after activity: the others read the server's view again.
const ACTIVITY: &str = "activity";
/// What a tab posts when its person signs out: the others leave at once.
const SIGNED_OUT: &str = "signed-out";
/// What a tab posts as it closes (`end_with_last_tab`): the others say they are open at once.
const TAB_CLOSED: &str = "tab-closed";

/// Where the countdown reads and reports, and how it behaves. The defaults are the engine's
/// own paths (`Engine::status_router`) and our app's sign-in page.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The engine's passive status read (`GET`).
    pub status_path: String,
    /// "Stay signed in" (`POST`; counts as activity).
    pub extend_path: String,
    /// The sign-in page, visited at zero with `next` and `reason`. Must be a local path.
    pub sign_in_path: String,
    /// The warning's lead, in milliseconds; `None` takes the server's `warn_before`.
    pub warn_before_ms: Option<i64>,
    /// Input on the page (keys, pointer, scrolling, touch) counts as activity, reported at
    /// most once a minute, and at once near the warning.
    pub report_input: bool,
    /// Leave for the sign-in page at zero (`location.replace`). When `false`, the reading
    /// with [`Phase::Ended`] is all that happens, for a page that leaves by itself.
    pub redirect: bool,
    /// The `BroadcastChannel` the site's tabs agree on.
    pub channel: String,
}

impl Options {
    /// Where this tab says what it is doing (`end_with_last_tab`): `{status_path}/tabs`.
    pub fn tabs_path(&self) -> String {
        format!("{}/tabs", self.status_path)
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            status_path: auto_logout::forms::SESSION_STATUS.to_owned(),
            extend_path: auto_logout::forms::SESSION_EXTEND.to_owned(),
            sign_in_path: auto_logout::forms::SIGN_IN.to_owned(),
            warn_before_ms: None,
            report_input: false,
            redirect: true,
            channel: DEFAULT_CHANNEL.to_owned(),
        }
    }
}

/// A running countdown. Dropping it stops its timers and listeners and closes its channel.
pub struct Countdown {
    inner: Rc<Inner>,
}

struct Inner {
    options: Options,
    on_reading: Box<dyn Fn(&Reading)>,
    state: RefCell<State>,
    channel: Option<BroadcastChannel>,
    /// The channel's message handler, dropped after the channel is closed.
    _on_message: Closure<dyn Fn(MessageEvent)>,
    timers: RefCell<Vec<Interval>>,
    listeners: RefCell<Vec<Listener>>,
}

#[derive(Default)]
struct State {
    deadlines: Option<Deadlines>,
    /// The server's `warn_before`, in milliseconds (unless the options fix it).
    warn_before_ms: i64,
    last_report: f64,
    input_since_report: bool,
    leaving: bool,
    last: Option<Reading>,
    /// Set once the server said the session ends with its last tab.
    tab: Option<ThisTab>,
}

/// This tab, for `end_with_last_tab`.
struct ThisTab {
    /// The session it belongs to (a prefix of its public id).
    session: String,
    /// Its own id.
    id: String,
}

/// A listener on the window or the document, removed when the countdown stops.
struct Listener {
    target: web_sys::EventTarget,
    event: &'static str,
    callback: Closure<dyn Fn(web_sys::Event)>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A countdown replaced in place (a page swapped without a reload) is not an open tab;
        // the one that replaces it writes its own entry.
        if let Some(tab) = self.state.get_mut().tab.take() {
            with_tabs(|tabs| tabs.remove(&tab.id));
        }
        for listener in self.listeners.take() {
            let _ = listener.target.remove_event_listener_with_callback(
                listener.event,
                listener.callback.as_ref().unchecked_ref(),
            );
        }
        if let Some(channel) = &self.channel {
            channel.set_onmessage(None);
            channel.close();
        }
    }
}

/// What an answer of the status endpoint said.
enum Answer {
    Active(Status),
    /// 401: the session ended (with the server's reason), or there is none (`None`).
    Ended(Option<SignInReason>),
    /// Anything else (network down, 5xx): keep counting on the deadlines we have.
    Unknown,
}

/// A live session's status, as the countdown reads it.
struct Status {
    left: Remaining,
    warn_before: Option<u64>,
    /// The session ends with its last tab: its public id (cut short).
    last_tab: Option<String>,
}

fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

impl Countdown {
    /// Starts counting: reads the server's view at once and every few seconds, and calls
    /// `on_reading` with every change of what the countdown shows.
    pub fn start(options: Options, on_reading: impl Fn(&Reading) + 'static) -> Self {
        let channel = BroadcastChannel::new(&options.channel).ok();
        let inner = Rc::new_cyclic(|weak: &Weak<Inner>| {
            // Another tab's news: activity (read the server's view again), or a sign-out.
            let w = weak.clone();
            let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
                let Some(inner) = w.upgrade() else { return };
                match event.data().as_string().as_deref() {
                    Some(ACTIVITY | TAB_CLOSED) => refresh(&inner),
                    Some(SIGNED_OUT) => leave(&inner, SignInReason::Logout),
                    _ => {}
                }
            });
            if let Some(channel) = &channel {
                channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            }
            Inner {
                options,
                on_reading: Box::new(on_reading),
                state: RefCell::new(State {
                    last_report: now(),
                    ..State::default()
                }),
                channel,
                _on_message: on_message,
                timers: RefCell::new(Vec::new()),
                listeners: RefCell::new(Vec::new()),
            }
        });
        let weak = Rc::downgrade(&inner);
        let timers = vec![
            Interval::new(TICK_MS, every(&weak, tick)),
            Interval::new(REFRESH_MS, every(&weak, refresh)),
        ];
        *inner.timers.borrow_mut() = timers;
        listen(&inner, &weak);
        refresh(&inner);
        Self { inner }
    }

    /// "Stay signed in": reports activity now; the other tabs follow.
    pub fn stay_signed_in(&self) {
        report_now(&self.inner);
    }

    /// Counts from `left` (what the server said when it rendered the page) until the first
    /// read answers, so that a server-rendered countdown ticks on at once.
    pub fn assume(&self, left: Remaining) {
        apply(
            &self.inner,
            Answer::Active(Status {
                left,
                warn_before: None,
                last_tab: None,
            }),
        );
    }

    /// The person is signing out on this page: the countdown stops, so as not to race the
    /// sign-out to the sign-in page. Once the server has ended the session, the page that
    /// follows tells the other tabs with [`announce_signed_out`].
    pub fn stand_down(&self) {
        self.inner.state.borrow_mut().leaving = true;
        self.inner.timers.borrow_mut().clear();
    }

    /// What the countdown shows now (`None` until the server first answered).
    pub fn reading(&self) -> Option<Reading> {
        self.inner.state.borrow().last
    }
}

/// A timer callback that runs `f` while the countdown lives.
fn every(weak: &Weak<Inner>, f: fn(&Rc<Inner>)) -> impl FnMut() + 'static {
    let weak = weak.clone();
    move || {
        if let Some(inner) = weak.upgrade() {
            f(&inner);
        }
    }
}

/// The page's events: coming back to the page reads the server's view again; input is
/// activity when the options say so.
fn listen(inner: &Rc<Inner>, weak: &Weak<Inner>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let add =
        |target: web_sys::EventTarget, event: &'static str, f: fn(&Rc<Inner>, &web_sys::Event)| {
            let w = weak.clone();
            let callback = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
                if let Some(inner) = w.upgrade() {
                    f(&inner, &event);
                }
            });
            if target
                .add_event_listener_with_callback(event, callback.as_ref().unchecked_ref())
                .is_ok()
            {
                inner.listeners.borrow_mut().push(Listener {
                    target,
                    event,
                    callback,
                });
            }
        };
    for event in ["focus", "pageshow", "online"] {
        add(window.clone().into(), event, |inner, _| refresh(inner));
    }
    add(window.clone().into(), "pagehide", |inner, _| {
        tab_closing(inner)
    });
    if let Some(document) = window.document() {
        add(document.into(), "visibilitychange", |inner, _| {
            if is_hidden() {
                tab_hidden(inner);
            } else {
                refresh(inner);
            }
        });
    }
    if inner.options.report_input {
        for event in ["keydown", "pointerdown", "scroll", "touchstart"] {
            add(window.clone().into(), event, |inner, event| {
                if !inside_own_dialog(event) {
                    note_input(inner);
                }
            });
        }
    }
}

fn warn_before_ms(inner: &Inner, state: &State) -> i64 {
    inner.options.warn_before_ms.unwrap_or(state.warn_before_ms)
}

/// One look at the clock: shows what changed, and leaves at zero.
fn tick(inner: &Rc<Inner>) {
    let t = now();
    let reading = {
        let state = inner.state.borrow();
        let Some(deadlines) = state.deadlines else {
            return;
        };
        deadlines.reading(t, warn_before_ms(inner, &state))
    };
    if let Phase::Ended(reason) = reading.phase {
        leave(inner, reason);
        return;
    }
    let changed = {
        let mut state = inner.state.borrow_mut();
        let changed = state.last != Some(reading);
        state.last = Some(reading);
        changed
    };
    if changed {
        (inner.on_reading)(&reading);
    }
}

/// Reads the server's view (passively: never counts as activity). When the session ends with
/// its last tab, the read also says what this tab is doing (see [`beat_signal`]).
fn refresh(inner: &Rc<Inner>) {
    let weak = Rc::downgrade(inner);
    let signal = tab_beat(inner);
    let (method, path, body) = match signal {
        Some(signal) => ("POST", inner.options.tabs_path(), Some(signal.as_str())),
        None => ("GET", inner.options.status_path.clone(), None),
    };
    spawn_local(async move {
        let answer = ask(method, &path, body).await;
        if let Some(inner) = weak.upgrade() {
            apply(&inner, answer);
        }
    });
}

/// Whether the page is hidden.
fn is_hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden)
}

/// Milliseconds since the epoch, shared by every tab (unlike `performance.now()`).
fn wall_clock() -> i64 {
    js_sys::Date::now() as i64
}

/// Reads, changes and writes back the site's list of tabs (nothing without `localStorage`).
fn with_tabs<T>(change: impl FnOnce(&mut Tabs) -> T) -> Option<T> {
    let storage = web_sys::window()?.local_storage().ok()??;
    let mut tabs = Tabs::parse(&storage.get_item(STORAGE_KEY).ok()?.unwrap_or_default());
    let out = change(&mut tabs);
    let _ = storage.set_item(STORAGE_KEY, &tabs.to_text());
    Some(out)
}

/// This tab's entry written anew; what its beat says to the server (`None`: only read).
fn tab_beat(inner: &Inner) -> Option<TabSignal> {
    let state = inner.state.borrow();
    let tab = state.tab.as_ref().filter(|_| !state.leaving)?;
    let (hidden, now) = (is_hidden(), wall_clock());
    with_tabs(|tabs| {
        tabs.put(TabEntry::new(&tab.session, &tab.id, now, hidden), now);
        beat_signal(tabs, &tab.session, &tab.id, hidden, now)
    })
    .unwrap_or(Some(if hidden {
        TabSignal::Hidden
    } else {
        TabSignal::Visible
    }))
}

/// The page was hidden: its entry says so, and the server hears `hidden` unless another tab
/// is visible.
fn tab_hidden(inner: &Inner) {
    if let Some(signal) = tab_beat(inner) {
        beacon(inner, signal);
    }
}

/// The page is going (closed, or left for another): its entry goes, and the server hears
/// `closed` if it was the session's last open tab, `hidden` otherwise. The tab is then gone
/// for this page: the `visibilitychange` that follows `pagehide` must not bring it back (a
/// page restored from the back-forward cache starts a new one on its first read).
fn tab_closing(inner: &Inner) {
    let signal = {
        let mut state = inner.state.borrow_mut();
        let leaving = state.leaving;
        let Some(tab) = state.tab.take().filter(|_| !leaving) else {
            return;
        };
        with_tabs(|tabs| {
            tabs.remove(&tab.id);
            closing_signal(tabs, &tab.session, &tab.id, wall_clock())
        })
        .unwrap_or(TabSignal::Closed)
    };
    beacon(inner, signal);
    announce(inner, TAB_CLOSED);
}

/// Sends `signal` with `navigator.sendBeacon`, which outlives the page.
fn beacon(inner: &Inner, signal: TabSignal) {
    if let Some(window) = web_sys::window() {
        let _ = window
            .navigator()
            .send_beacon_with_opt_str(&inner.options.tabs_path(), Some(signal.as_str()));
    }
}

/// A random id for this tab.
fn new_tab_id() -> String {
    let n = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
    format!("{n:x}")
}

/// Reports activity now, then tells the other tabs.
fn report_now(inner: &Rc<Inner>) {
    {
        let mut state = inner.state.borrow_mut();
        state.last_report = now();
        state.input_since_report = false;
    }
    let weak = Rc::downgrade(inner);
    let path = inner.options.extend_path.clone();
    spawn_local(async move {
        let answer = ask("POST", &path, None).await;
        if let Some(inner) = weak.upgrade() {
            let active = matches!(answer, Answer::Active(..));
            apply(&inner, answer);
            if active {
                announce(&inner, ACTIVITY);
            }
        }
    });
}

/// Whether `event` happened inside one of the countdown's own dialogs (through shadow roots
/// too: the custom element's dialog is in one), see [`OWN_DIALOG_ATTRIBUTE`].
fn inside_own_dialog(event: &web_sys::Event) -> bool {
    event.composed_path().iter().any(|node| {
        node.dyn_ref::<web_sys::Element>()
            .is_some_and(|element| element.has_attribute(OWN_DIALOG_ATTRIBUTE))
    })
}

fn note_input(inner: &Rc<Inner>) {
    let t = now();
    let due = {
        let mut state = inner.state.borrow_mut();
        state.input_since_report = true;
        let urgent = state
            .deadlines
            .is_some_and(|d| d.input_is_urgent(t, warn_before_ms(inner, &state)));
        urgent || t - state.last_report >= REPORT_EVERY_MS
    };
    if due {
        report_now(inner);
    }
}

fn apply(inner: &Rc<Inner>, answer: Answer) {
    match answer {
        Answer::Active(status) => {
            let tab_started = {
                let mut state = inner.state.borrow_mut();
                state.deadlines = Some(Deadlines::starting_at(now(), status.left));
                if let Some(secs) = status.warn_before {
                    state.warn_before_ms =
                        i64::try_from(secs.saturating_mul(1_000)).unwrap_or(i64::MAX);
                }
                // A tab of its own for this session (a new one after a new sign-in).
                match status.last_tab {
                    Some(session) if state.tab.as_ref().is_none_or(|t| t.session != session) => {
                        state.tab = Some(ThisTab {
                            session,
                            id: new_tab_id(),
                        });
                        true
                    }
                    _ => false,
                }
            };
            tick(inner);
            if tab_started {
                // The server hears this tab at once, not at the next read.
                refresh(inner);
            }
        }
        Answer::Ended(reason) => leave(inner, reason.unwrap_or(SignInReason::Logout)),
        Answer::Unknown => {}
    }
}

/// Tells every tab of the site on `channel` that the person signed out: their countdowns
/// leave for the sign-in page at once (without a reason: nobody was signed out by a limit).
pub fn announce_signed_out(channel: &str) {
    if let Ok(channel) = BroadcastChannel::new(channel) {
        let _ = channel.post_message(&JsValue::from_str(SIGNED_OUT));
        channel.close();
    }
}

/// Posts `message` to the site's other tabs.
fn announce(inner: &Inner, message: &str) {
    if let Some(channel) = &inner.channel {
        let _ = channel.post_message(&JsValue::from_str(message));
    }
}

/// Shows the end and leaves for the sign-in page with `reason` (once). `location.replace`,
/// so that Back does not return to a page of an ended session.
fn leave(inner: &Rc<Inner>, reason: SignInReason) {
    {
        let mut state = inner.state.borrow_mut();
        if state.leaving {
            return;
        }
        state.leaving = true;
        state.last = Some(Reading {
            idle: state.last.and_then(|r| r.idle).map(|_| 0),
            session: state.last.and_then(|r| r.session).map(|_| 0),
            scheduled: state.last.is_some_and(|r| r.scheduled),
            phase: Phase::Ended(reason),
        });
    }
    inner.timers.borrow_mut().clear();
    let reading = inner.state.borrow().last;
    if let Some(reading) = reading {
        (inner.on_reading)(&reading);
    }
    if !inner.options.redirect {
        return;
    }
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return;
    };
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    let automatic = reason != SignInReason::Logout;
    let target = sign_in_url_at(
        &inner.options.sign_in_path,
        &here,
        automatic.then_some(reason),
    );
    let _ = location.replace(&target);
}

/// One request to the engine (same-origin, with the session cookie, and a text `body` if
/// any), and what it said.
async fn ask(method: &str, path: &str, body: Option<&str>) -> Answer {
    match fetch(method, path, body).await {
        Ok(answer) => answer,
        Err(_) => Answer::Unknown,
    }
}

async fn fetch(method: &str, path: &str, body: Option<&str>) -> Result<Answer, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
    }
    let request = web_sys::Request::new_with_str_and_init(path, &init)?;
    request.headers().set("accept", "application/json")?;
    if body.is_some() {
        request.headers().set("content-type", "text/plain")?;
    }
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await?
        .dyn_into()?;
    let status = response.status();
    if status != 200 && status != 401 {
        return Ok(Answer::Unknown);
    }
    let body = JsFuture::from(response.json()?).await?;
    let field = |name: &str| Reflect::get(&body, &JsValue::from_str(name)).ok();
    let number = |name: &str| field(name).and_then(|v| v.as_f64());
    if status == 401 {
        let reason = field("reason")
            .and_then(|v| v.as_string())
            .and_then(|r| SignInReason::parse(&r));
        return Ok(Answer::Ended(reason));
    }
    // The milliseconds when the engine sends them; whole seconds otherwise.
    let left = |ms: &str, secs: &str| {
        number(ms)
            .or_else(|| number(secs).map(|s| s * 1_000.0))
            .map(|ms| ms as i64)
    };
    let last_tab = (field("ends_with_last_tab").and_then(|v| v.as_bool()) == Some(true))
        .then(|| field("session_id").and_then(|v| v.as_string()))
        .flatten()
        .map(|id| id.chars().take(16).collect());
    Ok(Answer::Active(Status {
        left: Remaining {
            idle_ms: left("milliseconds_until_idle_end", "seconds_until_idle_end"),
            session_ms: left(
                "milliseconds_until_session_end",
                "seconds_until_session_end",
            ),
            scheduled: field("scheduled_sign_out").and_then(|v| v.as_bool()) == Some(true),
        },
        warn_before: number("warn_before").map(|s| s as u64),
        last_tab,
    }))
}
