//! Soft navigation: once WebAssembly has loaded, a click on a link to this site or the sending
//! of a form fetches the next page and swaps it into this document, and the new page's islands
//! are hydrated. Signing in and out, filters and actions then need no full reload (SPEC §4),
//! while the server still renders every page in full, as it does for a browser without
//! JavaScript.
//!
//! Left to the browser: links to other sites, new tabs and windows, downloads, a form with a
//! `target`, jumps within the page, a link whose answer is not HTML or cannot be fetched, and a
//! page built with another client bundle (after a new release: the page is loaded in full).
//! A form whose answer is not HTML shows that answer as text; one that cannot be sent is not
//! sent again (it may have reached the server): the page says so and stays.

use crate::SOFT_NAVIGATION_HEADER;
use leptos::{prelude::*, task::spawn_local};
use std::cell::{Cell, RefCell};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Document, DomParser, Element, Event, FormData, HtmlAnchorElement, HtmlDialogElement,
    HtmlElement, HtmlFormElement, MouseEvent, RequestCredentials, RequestInit, RequestRedirect,
    Response, SubmitEvent, SupportedType, Url, UrlSearchParams,
};

thread_local! {
    /// Numbers the navigations: only the newest one may swap the page.
    static LATEST: Cell<u64> = const { Cell::new(0) };
    /// The listeners are in place.
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
    /// The path and query of the page shown, to tell Back and Forward between pages from a
    /// jump within this one.
    static SHOWN: RefCell<String> = const { RefCell::new(String::new()) };
}

/// This page's path and query (where the sign-in page sends the person back to, and what
/// tells Back and Forward between pages from a jump within one).
pub use auto_logout_leptos::countdown::live::here;

/// What the browser's history gets once the new page is in place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum History {
    /// A new entry (a click, a form).
    Push,
    /// The current entry, with the address the page came from (Back and Forward).
    Replace,
}

/// A request for the next page.
struct Visit {
    url: String,
    /// The form's fields, for a `POST`.
    body: Option<UrlSearchParams>,
}

/// Takes over link clicks, form submissions and Back/Forward, once per page load.
pub fn install() {
    if INSTALLED.with(|i| i.replace(true)) {
        return;
    }
    SHOWN.with(|shown| *shown.borrow_mut() = here());
    let on_click = Closure::<dyn Fn(MouseEvent)>::new(|event: MouseEvent| {
        if cancels_prompt(&event) {
            event.prevent_default();
            close_prompt();
            return;
        }
        if let Some(url) = link_target(&event) {
            event.prevent_default();
            let visit = Visit { url, body: None };
            spawn_local(go(visit, History::Push));
        }
    });
    let on_submit = Closure::<dyn Fn(SubmitEvent)>::new(|event: SubmitEvent| {
        if let Some(visit) = form_visit(&event) {
            event.prevent_default();
            spawn_local(go(visit, History::Push));
        }
    });
    let on_pop = Closure::<dyn Fn(Event)>::new(|_: Event| {
        // Back from `#section` to the top of the same page is the browser's.
        if SHOWN.with(|shown| *shown.borrow() == here()) {
            return;
        }
        let url = window().location().href().unwrap_or_default();
        let visit = Visit { url, body: None };
        spawn_local(go(visit, History::Replace));
    });
    let doc = document();
    let _ = doc.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
    let _ = doc.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
    let _ = window().add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
    on_click.forget();
    on_submit.forget();
    on_pop.forget();
}

/// The address of a same-site page the click opens in this tab, if it is one to take over.
fn link_target(event: &MouseEvent) -> Option<String> {
    if event.default_prevented()
        || event.button() != 0
        || event.meta_key()
        || event.ctrl_key()
        || event.shift_key()
        || event.alt_key()
    {
        return None;
    }
    let anchor: HtmlAnchorElement = event
        .target()?
        .dyn_into::<Element>()
        .ok()?
        .closest("a[href]")
        .ok()??
        .dyn_into()
        .ok()?;
    let external = anchor
        .get_attribute("rel")
        .is_some_and(|rel| rel.split_ascii_whitespace().any(|r| r == "external"));
    if !anchor.target().is_empty() || anchor.has_attribute("download") || external {
        return None;
    }
    let url = Url::new(&anchor.href()).ok()?;
    let here = this_site(&url)?;
    // A jump within this page is the browser's.
    let same_page = url.pathname() == here.pathname() && url.search() == here.search();
    if same_page && !url.hash().is_empty() {
        return None;
    }
    Some(url.href())
}

/// This page's address, when `url` is on the same site (origin) as it; `None` otherwise.
fn this_site(url: &Url) -> Option<Url> {
    let here = Url::new(&window().location().href().ok()?).ok()?;
    (url.origin() == here.origin()).then_some(here)
}

/// The request a form submission makes, if it is one to take over (`GET` or `POST` to this
/// site, in this tab).
fn form_visit(event: &SubmitEvent) -> Option<Visit> {
    if event.default_prevented() {
        return None;
    }
    let form: HtmlFormElement = event.target()?.dyn_into().ok()?;
    if !form.target().is_empty() {
        return None;
    }
    let url = Url::new(&form.action()).ok()?;
    this_site(&url)?;
    let fields = fields_of(&form, event.submitter())?;
    match form.method().to_ascii_lowercase().as_str() {
        "get" => {
            url.set_search(&String::from(fields.to_string()));
            Some(Visit {
                url: url.href(),
                body: None,
            })
        }
        "post" => Some(Visit {
            url: url.href(),
            body: Some(fields),
        }),
        _ => None,
    }
}

/// The form's fields as the browser would send them, with the button that sent it if it has a
/// name.
fn fields_of(form: &HtmlFormElement, submitter: Option<HtmlElement>) -> Option<UrlSearchParams> {
    let data = FormData::new_with_form(form).ok()?;
    if let Some(button) = submitter {
        if let Some(name) = button.get_attribute("name").filter(|n| !n.is_empty()) {
            let value = button.get_attribute("value").unwrap_or_default();
            let _ = data.append_with_str(&name, &value);
        }
    }
    UrlSearchParams::new_with_str_sequence_sequence(&data).ok()
}

/// Fetches the page and swaps it in, unless a newer navigation started meanwhile.
async fn go(visit: Visit, history: History) {
    let number = LATEST.with(|latest| {
        latest.set(latest.get() + 1);
        latest.get()
    });
    let is_latest = || LATEST.with(Cell::get) == number;
    let Some(response) = fetch(&visit).await else {
        if !is_latest() {
            return;
        }
        if visit.body.is_some() {
            // It may have reached the server: sending it again could act twice.
            say_not_sent();
        } else {
            // The browser follows the link itself, and shows its own error if offline.
            let _ = window().location().assign(&visit.url);
        }
        return;
    };
    if response
        .headers()
        .get(auto_logout::forms::REAUTH_HEADER)
        .ok()
        .flatten()
        .is_some()
    {
        // A sensitive action wants the password again: asked in place, over the form as it
        // was typed; the prompt's form repeats the fields and performs the action.
        let html = text_of(&response).await;
        if is_latest() {
            match html.and_then(|html| parse(&html)) {
                Some(prompt) => show_prompt(&prompt),
                None => say_not_sent(),
            }
        }
        return;
    }
    let is_html = response
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .is_some_and(|t| t.starts_with("text/html"));
    // The answer's address has no `#fragment`: a link's own address keeps it.
    let url = if response.redirected() {
        response.url()
    } else {
        visit.url.clone()
    };
    if !is_html {
        if visit.body.is_none() {
            if is_latest() {
                let _ = window().location().assign(&url);
            }
        } else {
            // Not a page: the answer is shown as text, as a browser would show it.
            let text = text_of(&response).await.unwrap_or_default();
            if is_latest() {
                if let Some(body) = document().body() {
                    body.set_text_content(Some(&text));
                }
            }
        }
        return;
    }
    let html = text_of(&response).await;
    if !is_latest() {
        return;
    }
    let next = html.and_then(|html| parse(&html));
    let Some(next) = next.filter(same_bundle) else {
        // A page of another release (or unreadable): loaded in full, with its own bundle.
        let _ = window().location().assign(&url);
        return;
    };
    swap(&next);
    // Following a link to the page shown replaces its entry, as the browser does.
    let same_address = window().location().href().is_ok_and(|here| here == url);
    let state = JsValue::NULL;
    if let Ok(api) = window().history() {
        let _ = if history == History::Replace || same_address {
            api.replace_state_with_url(&state, "", Some(&url))
        } else {
            api.push_state_with_url(&state, "", Some(&url))
        };
    }
    SHOWN.with(|shown| *shown.borrow_mut() = here());
    hydrate_islands();
    if history == History::Push {
        scroll_to_fragment(&url);
    }
    focus_new_page();
}

/// The id of the dialog that holds a password prompt.
const PROMPT_DIALOG: &str = "reauth-dialog";

/// Shows the prompt (`[data-testid=reauth]`) of the answer `answer` in a modal dialog over this
/// page, replacing the one shown, if any (a wrong password answers with the prompt again).
fn show_prompt(answer: &Document) {
    let doc = document();
    let Some(form) = answer.query_selector("[data-testid=reauth]").ok().flatten() else {
        return;
    };
    let Ok(form) = doc.import_node_with_deep(&form, true) else {
        return;
    };
    let dialog: HtmlDialogElement = match doc.get_element_by_id(PROMPT_DIALOG) {
        Some(existing) => match existing.dyn_into() {
            Ok(dialog) => dialog,
            Err(_) => return,
        },
        None => {
            let Some(dialog) = doc
                .create_element("dialog")
                .ok()
                .and_then(|el| el.dyn_into::<HtmlDialogElement>().ok())
            else {
                return;
            };
            dialog.set_id(PROMPT_DIALOG);
            dialog.set_class_name("reauth-dialog");
            let _ = dialog.set_attribute("aria-label", "Confirm it is you");
            if let Some(body) = doc.body() {
                let _ = body.append_child(&dialog);
            }
            dialog
        }
    };
    dialog.replace_children_with_node_1(&form);
    if !dialog.open() {
        let _ = dialog.show_modal();
    }
    if let Some(input) = dialog
        .query_selector("input[type=password]")
        .ok()
        .flatten()
        .and_then(|el| el.dyn_into::<HtmlElement>().ok())
    {
        let _ = input.focus();
    }
}

/// Whether the click is on a prompt's "Cancel" shown in place.
fn cancels_prompt(event: &MouseEvent) -> bool {
    event
        .target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .and_then(|el| el.closest("[data-reauth-cancel]").ok().flatten())
        .and_then(|el| el.closest("dialog").ok().flatten())
        .is_some_and(|dialog| dialog.id() == PROMPT_DIALOG)
}

/// Closes and removes the prompt shown in place; the page under it is as it was.
fn close_prompt() {
    if let Some(dialog) = document().get_element_by_id(PROMPT_DIALOG) {
        if let Ok(dialog) = dialog.clone().dyn_into::<HtmlDialogElement>() {
            dialog.close();
        }
        dialog.remove();
    }
}

/// Scrolls to the element the address's `#fragment` names, or to the top.
fn scroll_to_fragment(url: &str) {
    let fragment = Url::new(url).ok().map(|u| u.hash()).filter(|h| h.len() > 1);
    let target = fragment.and_then(|hash| {
        let id = js_sys::decode_uri_component(&hash[1..]).ok()?;
        document().get_element_by_id(&String::from(id))
    });
    match target {
        Some(el) => el.scroll_into_view(),
        None => window().scroll_to_with_x_and_y(0.0, 0.0),
    }
}

/// Says, at the top of the page, that the form could not be sent. The page stays as it is,
/// with what was typed.
fn say_not_sent() {
    let doc = document();
    let Ok(notice) = doc.create_element("p") else {
        return;
    };
    notice.set_class_name("error");
    let _ = notice.set_attribute("role", "alert");
    let _ = notice.set_attribute("data-testid", "not-sent");
    notice.set_text_content(Some(
        "The server could not be reached, so this may not have been saved. \
         Check your connection and try again.",
    ));
    // Inside the password prompt when one is open (the page under it cannot be seen).
    let place = doc
        .query_selector("dialog[open] form")
        .ok()
        .flatten()
        .or_else(|| doc.query_selector("main").ok().flatten())
        .or_else(|| doc.body().map(Into::into));
    if let Some(place) = place {
        let _ = place.prepend_with_node_1(&notice);
    }
}

/// Sends the request; `None` if it could not be sent or answered.
async fn fetch(visit: &Visit) -> Option<Response> {
    let init = RequestInit::new();
    init.set_credentials(RequestCredentials::SameOrigin);
    init.set_redirect(RequestRedirect::Follow);
    let headers = web_sys::Headers::new().ok()?;
    headers.set("accept", "text/html").ok()?;
    headers.set(SOFT_NAVIGATION_HEADER, "1").ok()?;
    init.set_headers(&headers);
    if let Some(body) = &visit.body {
        init.set_method("POST");
        init.set_body(body);
    }
    let promise = window().fetch_with_str_and_init(&visit.url, &init);
    JsFuture::from(promise).await.ok()?.dyn_into().ok()
}

/// The answer's body as text.
async fn text_of(response: &Response) -> Option<String> {
    JsFuture::from(response.text().ok()?)
        .await
        .ok()?
        .as_string()
}

/// The page in `html`, parsed (its scripts do not run, nor do they once swapped in: a parsed
/// document's scripts are marked as already started). None is needed: the islands are
/// hydrated by the script this document already runs ([`hydrate_islands`]). And none could
/// run: the document's Content-Security-Policy allows only its own answer's nonce, and each
/// fetched page's inline scripts carry another.
fn parse(html: &str) -> Option<Document> {
    DomParser::new()
        .ok()?
        .parse_from_string(html, SupportedType::TextHtml)
        .ok()
}

/// The address of a page's stylesheet, which names its release's bundle (content-hashed).
fn bundle_of(doc: &Document) -> Option<String> {
    doc.query_selector("link#leptos")
        .ok()
        .flatten()?
        .get_attribute("href")
}

/// Whether `next` was built with the bundle this page runs: its islands can be hydrated here.
fn same_bundle(next: &Document) -> bool {
    bundle_of(next) == bundle_of(&document())
}

/// Puts the new page's title and body in place of this one's (the head, with its scripts and
/// styles, stays: every page of one release shares it).
fn swap(next: &Document) {
    let doc = document();
    doc.set_title(&next.title());
    let (Some(body), Some(next_body)) = (doc.body(), next.body()) else {
        return;
    };
    let nodes = js_sys::Array::from(&next_body.child_nodes());
    body.replace_children_with_node(&nodes);
}

/// Hydrates the islands of the page just swapped in, with the function Leptos's island script
/// left on `window`.
fn hydrate_islands() {
    let Ok(hydrate) = js_sys::Reflect::get(&window(), &JsValue::from_str("__hydrateIsland")) else {
        return;
    };
    let Some(hydrate) = hydrate.dyn_ref::<js_sys::Function>() else {
        return;
    };
    let Ok(islands) = document().query_selector_all("leptos-island") else {
        return;
    };
    for i in 0..islands.length() {
        let Some(island) = islands.item(i) else {
            continue;
        };
        let Some(component) = island
            .dyn_ref::<Element>()
            .and_then(|el| el.get_attribute("data-component"))
        else {
            continue;
        };
        let _ = hydrate.call2(&JsValue::NULL, &island, &JsValue::from_str(&component));
    }
}

/// Puts the focus where the new page asks for it (`autofocus`), as a page load would, or else
/// on the page's main heading, so that a screen reader announces the new page (the heading
/// takes focus without joining the Tab order).
fn focus_new_page() {
    let doc = document();
    if let Ok(Some(field)) = doc.query_selector("[autofocus]") {
        if let Some(field) = field.dyn_ref::<HtmlElement>() {
            let _ = field.focus();
            return;
        }
    }
    if let Ok(Some(heading)) = doc.query_selector("main h1") {
        if let Some(heading) = heading.dyn_ref::<HtmlElement>() {
            if !heading.has_attribute("tabindex") {
                let _ = heading.set_attribute("tabindex", "-1");
            }
            let _ = heading.focus();
        }
    }
}
