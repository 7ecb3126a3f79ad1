//! The browser half of [`super`]: reading the kept forms, WebCrypto, `localStorage`.
//!
//! Nothing here can fail loudly: drafts are an enhancement, so a browser without storage or
//! WebCrypto (or a full storage) simply keeps no draft.

use super::{
    is_expired, keeps_input, record_name, scope_of, FieldDraft, FormDraft, Record, Snapshot,
    KEEP_SELECTOR, PREFIX,
};
use auto_logout::DraftKey;
use js_sys::{Array, Date, Object, Reflect, Uint8Array};
use leptos::{prelude::*, task::spawn_local};
use std::cell::RefCell;
use wasm_bindgen::{closure::Closure, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CryptoKey, Element, Event, HtmlFormElement, HtmlInputElement, HtmlSelectElement,
    HtmlTextAreaElement, Storage,
};

/// The signed-in account's draft key, imported into WebCrypto on first use.
struct Account {
    scope: String,
    raw_key: Vec<u8>,
    key: Option<CryptoKey>,
}

#[derive(Default)]
struct State {
    account: Option<Account>,
    /// Numbers every write; only the newest one is stored (encryption is asynchronous).
    seq: u64,
    /// Something was typed into a kept form on this page.
    typed: bool,
    /// The person is signing out: nothing may be written any more.
    blocked: bool,
    /// The document's listeners are in place.
    listening: bool,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn storage() -> Option<Storage> {
    window().local_storage().ok().flatten()
}

fn path() -> String {
    window().location().pathname().unwrap_or_default()
}

/// The names of every draft record in `storage`, read before any is removed (removing one
/// renumbers the rest).
fn record_names(storage: &Storage) -> Vec<String> {
    let len = storage.length().unwrap_or(0);
    (0..len)
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter(|name| name.starts_with(PREFIX))
        .collect()
}

/// Tells the drafts who is signed in (`None`: nobody). Another account's drafts, and drafts
/// older than an hour, are deleted; the listeners that keep drafts are put in place once.
pub fn set_account(key: Option<&DraftKey>) {
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        match key {
            Some(key) => {
                let same = state.account.as_ref().is_some_and(|a| a.scope == key.scope);
                if !same {
                    state.account = hex::decode(&key.key).ok().map(|raw_key| Account {
                        scope: key.scope.clone(),
                        raw_key,
                        key: None,
                    });
                }
                state.blocked = false;
            }
            None => state.account = None,
        }
    });
    purge(key.map(|k| k.scope.as_str()));
    listen();
}

/// Deletes the drafts older than an hour, whoever is signed in (every page load does).
pub fn purge_stale() {
    purge(None);
}

/// Deletes the records that are too old, and when `keep_scope` is given those of every other
/// account.
fn purge(keep_scope: Option<&str>) {
    let Some(storage) = storage() else { return };
    let now = Date::now();
    for name in record_names(&storage) {
        let Some(scope) = scope_of(&name) else {
            continue;
        };
        let other_account = keep_scope.is_some_and(|keep| keep != scope);
        let stale = storage
            .get_item(&name)
            .ok()
            .flatten()
            .and_then(|text| serde_json::from_str::<Record>(&text).ok())
            .is_none_or(|record| is_expired(record.at, now));
        if other_account || stale {
            let _ = storage.remove_item(&name);
        }
    }
}

/// Deletes every draft of every account and stops keeping new ones until someone signs in:
/// the person is signing out (here or in another tab).
pub fn clear_all() {
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.blocked = true;
        state.seq += 1;
    });
    let Some(storage) = storage() else { return };
    for name in record_names(&storage) {
        let _ = storage.remove_item(&name);
    }
}

/// Listens for input in kept forms (once per page load).
fn listen() {
    let first = STATE.with(|state| !std::mem::replace(&mut state.borrow_mut().listening, true));
    if !first {
        return;
    }
    let on_input = Closure::<dyn Fn(Event)>::new(|event: Event| {
        let in_kept_form = event
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|el| el.closest(KEEP_SELECTOR).ok().flatten())
            .is_some();
        if in_kept_form {
            save();
        }
    });
    for kind in ["input", "change"] {
        let _ =
            document().add_event_listener_with_callback(kind, on_input.as_ref().unchecked_ref());
    }
    on_input.forget();
}

/// The kept forms of this page, in document order.
fn kept_forms() -> Vec<HtmlFormElement> {
    let Ok(forms) = document().query_selector_all(KEEP_SELECTOR) else {
        return Vec::new();
    };
    (0..forms.length())
        .filter_map(|i| forms.item(i)?.dyn_into::<HtmlFormElement>().ok())
        .collect()
}

/// What the kept forms of this page hold now.
fn snapshot() -> Snapshot {
    let mut snapshot = Snapshot::default();
    for form in kept_forms() {
        let elements = form.elements();
        let mut fields = Vec::new();
        for j in 0..elements.length() {
            if let Some(field) = elements.item(j).and_then(|el| field_of(&el)) {
                fields.push(field);
            }
        }
        if !fields.is_empty() {
            snapshot.forms.push(FormDraft {
                action: form.get_attribute("action").unwrap_or_default(),
                fields,
            });
        }
    }
    snapshot
}

/// The kept value of one form control, or `None` when it is not kept.
fn field_of(el: &Element) -> Option<FieldDraft> {
    if let Some(input) = el.dyn_ref::<HtmlInputElement>() {
        let kind = input.type_();
        if input.name().is_empty() || !keeps_input(&kind, &input.autocomplete()) {
            return None;
        }
        let toggles = matches!(kind.as_str(), "checkbox" | "radio");
        return Some(FieldDraft {
            name: input.name(),
            value: input.value(),
            checked: toggles.then(|| input.checked()),
        });
    }
    if let Some(area) = el.dyn_ref::<HtmlTextAreaElement>() {
        return (!area.name().is_empty()).then(|| FieldDraft {
            name: area.name(),
            value: area.value(),
            checked: None,
        });
    }
    if let Some(select) = el.dyn_ref::<HtmlSelectElement>() {
        return (!select.name().is_empty()).then(|| FieldDraft {
            name: select.name(),
            value: select.value(),
            checked: None,
        });
    }
    None
}

/// Puts `snapshot` back into this page's kept forms; how many fields it filled.
fn fill(snapshot: &Snapshot) -> usize {
    let mut filled = 0;
    for form in kept_forms() {
        let action = form.get_attribute("action").unwrap_or_default();
        let Some(draft) = snapshot.forms.iter().find(|f| f.action == action) else {
            continue;
        };
        let elements = form.elements();
        for j in 0..elements.length() {
            let Some(el) = elements.item(j) else { continue };
            // Only what would have been kept is filled: a draft cannot set a password or a
            // hidden field, whatever it says.
            let Some(current) = field_of(&el) else {
                continue;
            };
            let kept = draft.fields.iter().find(|f| {
                f.name == current.name && (current.checked.is_none() || f.value == current.value)
            });
            let Some(kept) = kept else { continue };
            if let Some(input) = el.dyn_ref::<HtmlInputElement>() {
                match kept.checked {
                    Some(checked) => input.set_checked(checked),
                    None => input.set_value(&kept.value),
                }
            } else if let Some(area) = el.dyn_ref::<HtmlTextAreaElement>() {
                area.set_value(&kept.value);
            } else if let Some(select) = el.dyn_ref::<HtmlSelectElement>() {
                select.set_value(&kept.value);
            }
            filled += 1;
        }
    }
    filled
}

/// Keeps what the kept forms hold now (called on every input).
fn save() {
    let Some((scope, seq)) = STATE.with(|state| {
        let mut state = state.borrow_mut();
        if state.blocked {
            return None;
        }
        let scope = state.account.as_ref()?.scope.clone();
        state.seq += 1;
        state.typed = true;
        Some((scope, state.seq))
    }) else {
        return;
    };
    let (path, snapshot) = (path(), snapshot());
    spawn_local(async move { write(scope, path, snapshot, seq).await });
}

/// Keeps what the kept forms hold now and waits until it is stored: the page is about to be
/// left (automatic sign-out). Returns at once when nothing was typed on this page.
pub async fn flush() {
    let Some((scope, seq)) = STATE.with(|state| {
        let mut state = state.borrow_mut();
        if state.blocked || !state.typed {
            return None;
        }
        let scope = state.account.as_ref()?.scope.clone();
        state.seq += 1;
        Some((scope, state.seq))
    }) else {
        return;
    };
    write(scope, path(), snapshot(), seq).await;
}

/// Whether write `seq` for `scope` is still the one to store.
fn is_current(scope: &str, seq: u64) -> bool {
    STATE.with(|state| {
        let state = state.borrow();
        !state.blocked
            && state.seq == seq
            && state.account.as_ref().is_some_and(|a| a.scope == scope)
    })
}

async fn write(scope: String, path: String, snapshot: Snapshot, seq: u64) {
    let Some(storage) = storage() else { return };
    let name = record_name(&scope, &path);
    if snapshot.forms.is_empty() {
        if is_current(&scope, seq) {
            let _ = storage.remove_item(&name);
        }
        return;
    }
    let Ok(plain) = serde_json::to_vec(&snapshot) else {
        return;
    };
    let Some((iv, data)) = encrypt(&plain, name.as_bytes()).await else {
        return;
    };
    if !is_current(&scope, seq) {
        return;
    }
    let record = Record {
        at: Date::now(),
        iv: hex::encode(iv),
        data: hex::encode(data),
    };
    if let Ok(text) = serde_json::to_string(&record) {
        // A full storage keeps no draft; the form itself is unaffected.
        let _ = storage.set_item(&name, &text);
    }
}

/// Fills this page's kept forms with the signed-in account's draft of it, if there is one
/// (and it is under an hour old and decrypts); whether anything was filled.
pub async fn restore() -> bool {
    let Some(scope) = STATE.with(|s| s.borrow().account.as_ref().map(|a| a.scope.clone())) else {
        return false;
    };
    let Some(storage) = storage() else {
        return false;
    };
    let name = record_name(&scope, &path());
    let Some(text) = storage.get_item(&name).ok().flatten() else {
        return false;
    };
    let snapshot = match serde_json::from_str::<Record>(&text) {
        Ok(record) if !is_expired(record.at, Date::now()) => decrypt(&record, name.as_bytes())
            .await
            .and_then(|plain| serde_json::from_slice::<Snapshot>(&plain).ok()),
        _ => None,
    };
    match snapshot {
        Some(snapshot) => fill(&snapshot) > 0,
        None => {
            // Too old, damaged, or under a key that is no longer this account's.
            let _ = storage.remove_item(&name);
            false
        }
    }
}

/// Deletes the signed-in account's draft of this page (saved, or discarded by the person).
pub fn discard_page() {
    let scope = STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.seq += 1;
        state.typed = false;
        state.account.as_ref().map(|a| a.scope.clone())
    });
    if let (Some(scope), Some(storage)) = (scope, storage()) {
        let _ = storage.remove_item(&record_name(&scope, &path()));
    }
}

/// Puts this page's kept forms back to what the server sent.
pub fn reset_forms() {
    for form in kept_forms() {
        form.reset();
    }
}

/// The account's AES-GCM key in WebCrypto (imported once, not extractable).
async fn crypto_key() -> Option<CryptoKey> {
    if let Some(key) = STATE.with(|s| s.borrow().account.as_ref().and_then(|a| a.key.clone())) {
        return Some(key);
    }
    let (scope, raw) = STATE.with(|s| {
        s.borrow()
            .account
            .as_ref()
            .map(|a| (a.scope.clone(), a.raw_key.clone()))
    })?;
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"AES-GCM".into()).ok()?;
    let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
    let subtle = window().crypto().ok()?.subtle();
    let promise = subtle
        .import_key_with_object(
            "raw",
            &Uint8Array::from(raw.as_slice()),
            &algorithm,
            false,
            &usages,
        )
        .ok()?;
    let key: CryptoKey = JsFuture::from(promise).await.ok()?.dyn_into().ok()?;
    STATE.with(|s| {
        if let Some(account) = s.borrow_mut().account.as_mut() {
            if account.scope == scope {
                account.key = Some(key.clone());
            }
        }
    });
    Some(key)
}

/// Encrypts `plain` bound to `associated` (the record's name); the nonce and the ciphertext.
async fn encrypt(plain: &[u8], associated: &[u8]) -> Option<([u8; 12], Vec<u8>)> {
    let key = crypto_key().await?;
    let crypto = window().crypto().ok()?;
    let mut iv = [0u8; 12];
    crypto.get_random_values_with_u8_array(&mut iv).ok()?;
    let params = web_sys::AesGcmParams::new_with_u8_array("AES-GCM", &Uint8Array::from(&iv[..]));
    params.set_additional_data_u8_array(&Uint8Array::from(associated));
    let promise = crypto
        .subtle()
        .encrypt_with_object_and_u8_array(&params, &key, plain)
        .ok()?;
    let data = JsFuture::from(promise).await.ok()?;
    Some((iv, Uint8Array::new(&data).to_vec()))
}

/// Decrypts a record written by [`encrypt`] under the same key and name.
async fn decrypt(record: &Record, associated: &[u8]) -> Option<Vec<u8>> {
    let key = crypto_key().await?;
    let iv = hex::decode(&record.iv).ok()?;
    let data = hex::decode(&record.data).ok()?;
    let params =
        web_sys::AesGcmParams::new_with_u8_array("AES-GCM", &Uint8Array::from(iv.as_slice()));
    params.set_additional_data_u8_array(&Uint8Array::from(associated));
    let promise = window()
        .crypto()
        .ok()?
        .subtle()
        .decrypt_with_object_and_u8_array(&params, &key, &data)
        .ok()?;
    let plain = JsFuture::from(promise).await.ok()?;
    Some(Uint8Array::new(&plain).to_vec())
}
