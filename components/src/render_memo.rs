//! [`RenderMemo`]: the HTML of a server-rendered view, kept with the value it shows, so that
//! the same value shown again is written out as it was, not rendered again.
//!
//! A list the engine keeps in memory (a person's devices, a page of the admin console) is
//! shown again and again unchanged: on every reload, on every soft navigation back to it.
//! Rendering its rows is most of such a page's work. The HTML of a view is a function of what
//! the view shows, so a view whose value equals one rendered lately is that same HTML.
//!
//! ```
//! use auto_logout_leptos::render_memo::RenderMemo;
//! use leptos::prelude::*;
//!
//! static LISTS: RenderMemo<Vec<String>> = RenderMemo::new(16);
//!
//! let list = |names: &Vec<String>| {
//!     view! { <ul>{names.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul> }
//! };
//! let names = vec!["ada".to_owned(), "grace".to_owned()];
//! let first = LISTS.render(names.clone(), list).to_html();
//! // An equal list: written out as it was rendered, `list` is not called.
//! let again = LISTS.render(names, list).to_html();
//! assert!(first.starts_with("<ul><li>ada</li><li>grace</li>"));
//! assert_eq!(again, first);
//! ```

use leptos::{
    prelude::*,
    tachys::{html::InertElement, view::Position},
};
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

/// Documents longer than this are rendered each time, not kept: the memo holds at most
/// `capacity` times this much HTML.
pub const MAX_KEPT_HTML: usize = 64 * 1024;

/// The HTML of the last `capacity` values rendered through it, most recently used first.
///
/// What it promises:
/// - [`RenderMemo::render`] writes exactly what rendering the view would write: the kept HTML
///   is what the same closure wrote for an equal value.
/// - It holds at most `capacity` entries of at most [`MAX_KEPT_HTML`] bytes each; the least
///   recently used entry goes first.
/// - The view must be one element (the memo's answer is one inert element) whose HTML
///   depends on the value alone: nothing from the request, the clock or the context that the
///   value does not hold, and nothing that waits.
pub struct RenderMemo<K> {
    capacity: usize,
    entries: Mutex<VecDeque<(K, Arc<str>)>>,
}

impl<K: PartialEq> RenderMemo<K> {
    /// A memo of `capacity` values (0 keeps none: every view is rendered).
    pub const fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// The view `render` makes of `value`, as HTML: the kept HTML if an equal value was
    /// rendered lately, else `render`'s view, rendered now and kept.
    pub fn render<V: RenderHtml>(&self, value: K, render: impl FnOnce(&K) -> V) -> InertElement {
        let value = match self.kept(value) {
            Ok(html) => return InertElement::new(String::from(&*html)),
            Err(value) => value,
        };
        let mut html = String::new();
        render(&value).to_html_with_buf(
            &mut html,
            &mut Position::FirstChild,
            true,
            false,
            Vec::new(),
        );
        if html.len() <= MAX_KEPT_HTML && self.capacity > 0 {
            self.keep(value, Arc::from(html.as_str()));
        }
        InertElement::new(html)
    }

    /// The HTML kept for a value equal to `value`, now the most recently used; `value` is
    /// handed back if none is kept. `value` replaces the equal one as the entry's key: the
    /// next comparison with the same value (an `Arc` the caller keeps) is then by address.
    fn kept(&self, value: K) -> Result<Arc<str>, K> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let Some(at) = entries.iter().position(|(kept, _)| kept == &value) else {
            return Err(value);
        };
        let Some((old, html)) = entries.remove(at) else {
            return Err(value);
        };
        entries.push_front((value, Arc::clone(&html)));
        drop(entries);
        drop(old);
        Ok(html)
    }

    /// Keeps `html` for `value`, dropping the least recently used entry if full.
    fn keep(&self, value: K, html: Arc<str>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.iter().any(|(kept, _)| kept == &value) {
            return;
        }
        entries.truncate(self.capacity - 1);
        entries.push_front((value, html));
    }

    /// How many values are kept.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn html_of(view: impl RenderHtml) -> String {
        view.to_html()
    }

    fn rows(names: &[String]) -> impl RenderHtml {
        view! {
            <ul class="people">
                {names.iter().map(|n| view! { <li data-name=n.clone()>{n.clone()}</li> }).collect_view()}
            </ul>
        }
    }

    #[test]
    fn an_equal_value_is_written_as_rendered_without_rendering_again() {
        let memo = RenderMemo::new(4);
        let renders = Cell::new(0);
        let render = |names: &Vec<String>| {
            renders.set(renders.get() + 1);
            rows(names)
        };
        let first = html_of(memo.render(list(&["ada", "<grace>"]), render));
        let again = html_of(memo.render(list(&["ada", "<grace>"]), render));
        assert_eq!(renders.get(), 1);
        assert_eq!(first, again);
        assert_eq!(first, html_of(rows(&list(&["ada", "<grace>"]))));
        assert!(first.contains("&lt;grace&gt;"), "{first}");
    }

    #[test]
    fn a_changed_value_is_rendered_anew() {
        let memo = RenderMemo::new(4);
        let before = html_of(memo.render(list(&["ada"]), |n| rows(n)));
        let after = html_of(memo.render(list(&["ada", "grace"]), |n| rows(n)));
        assert_ne!(before, after);
        assert_eq!(after, html_of(rows(&list(&["ada", "grace"]))));
    }

    #[test]
    fn the_least_recently_used_value_goes_first() {
        let memo = RenderMemo::new(2);
        let renders = Cell::new(0);
        let render = |names: &Vec<String>| {
            renders.set(renders.get() + 1);
            rows(names)
        };
        memo.render(list(&["a"]), render);
        memo.render(list(&["b"]), render);
        memo.render(list(&["a"]), render); // kept: "a" is now the most recent
        memo.render(list(&["c"]), render); // "b" goes
        assert_eq!(memo.len(), 2);
        assert_eq!(renders.get(), 3);
        memo.render(list(&["a"]), render);
        assert_eq!(renders.get(), 3);
        memo.render(list(&["b"]), render);
        assert_eq!(renders.get(), 4);
    }

    #[test]
    fn the_latest_equal_value_becomes_the_key() {
        let memo = RenderMemo::new(2);
        let first = Arc::new(list(&["ada"]));
        let second = Arc::new(list(&["ada"]));
        memo.render(Arc::clone(&first), |n| rows(n));
        memo.render(Arc::clone(&second), |n| rows(n));
        let entries = memo.entries.lock().expect("not poisoned");
        assert_eq!(entries.len(), 1);
        assert!(Arc::ptr_eq(&entries[0].0, &second));
        assert_eq!(Arc::strong_count(&first), 1, "the older copy is let go");
    }

    #[test]
    fn a_memo_of_no_capacity_keeps_nothing() {
        let memo = RenderMemo::new(0);
        memo.render(list(&["a"]), |n| rows(n));
        assert!(memo.is_empty());
    }

    #[test]
    fn a_document_too_long_to_keep_is_rendered_each_time() {
        let memo = RenderMemo::new(2);
        let long = vec!["x".repeat(MAX_KEPT_HTML)];
        let html = html_of(memo.render(long.clone(), |n| rows(n)));
        assert!(html.len() > MAX_KEPT_HTML);
        assert!(memo.is_empty());
    }
}
