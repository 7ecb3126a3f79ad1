//! How the tabs of a site agree which of them is the last one open, for `end_with_last_tab`
//! (see `auto_logout::last_tab`). Pure: the browser part keeps the list in `localStorage`,
//! which every tab of the site shares and which a closing page can still read and write
//! (synchronously, in `pagehide`).
//!
//! Each tab keeps one entry: the session it belongs to, its own id, when it last wrote
//! (`Date.now()`), and whether it is hidden. A closing tab removes its entry and asks
//! [`closing_signal`] what to tell the server: `closed` when no other tab of the session is
//! open, `hidden` otherwise (the others may be hidden, and hidden tabs may stay silent for a
//! long time). A visible tab writes every few seconds, so a visible entry older than
//! [`VISIBLE_ENTRY_STALE_MS`] is a tab that crashed; a hidden tab may not run for hours, so
//! its entry lasts [`HIDDEN_ENTRY_STALE_MS`]. Entries of other sessions (an earlier sign-in)
//! never count.
//!
//! ```
//! use auto_logout::last_tab::TabSignal;
//! use auto_logout_countdown::tabs::{closing_signal, TabEntry, Tabs};
//!
//! let mut tabs = Tabs::parse("");
//! tabs.put(TabEntry::new("s1", "a", 1_000, false), 1_000);
//! tabs.put(TabEntry::new("s1", "b", 1_500, true), 1_500);
//! assert_eq!(closing_signal(&tabs, "s1", "a", 2_000), TabSignal::Hidden, "b is open, hidden");
//! tabs.remove("b");
//! assert_eq!(closing_signal(&tabs, "s1", "a", 2_000), TabSignal::Closed);
//! ```

use auto_logout::last_tab::TabSignal;

/// The `localStorage` key of the list.
pub const STORAGE_KEY: &str = "auto-logout-tabs";
/// A visible tab's entry not written for this long (milliseconds) is a tab that is gone.
pub const VISIBLE_ENTRY_STALE_MS: i64 = 10_000;
/// A hidden tab's entry not written for this long (milliseconds) is a tab that is gone.
pub const HIDDEN_ENTRY_STALE_MS: i64 = 86_400_000;
/// The most entries kept: a site open in more tabs than this keeps the most recent ones.
pub const MAX_ENTRIES: usize = 64;
/// The most characters of a session id or tab id kept in an entry.
pub const MAX_ID_CHARS: usize = 32;

/// One tab's entry.
#[derive(Debug, Clone, PartialEq)]
pub struct TabEntry {
    /// The session the tab belongs to (a prefix of its public id).
    pub session: String,
    /// The tab's own id.
    pub id: String,
    /// When it last wrote, in milliseconds since the epoch.
    pub written_at: i64,
    /// It is hidden.
    pub hidden: bool,
}

impl TabEntry {
    /// An entry; ids are cut to [`MAX_ID_CHARS`] characters of letters, digits, `-` and `_`.
    pub fn new(session: &str, id: &str, written_at: i64, hidden: bool) -> Self {
        Self {
            session: clean_id(session),
            id: clean_id(id),
            written_at,
            hidden,
        }
    }

    /// Whether the tab is still open at `now`, as far as its entry tells.
    pub fn is_open(&self, now: i64) -> bool {
        let stale = if self.hidden {
            HIDDEN_ENTRY_STALE_MS
        } else {
            VISIBLE_ENTRY_STALE_MS
        };
        now.saturating_sub(self.written_at) < stale
    }
}

/// `id` as an entry keeps it: its first [`MAX_ID_CHARS`] letters, digits, `-` and `_`.
fn clean_id(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(MAX_ID_CHARS)
        .collect()
}

/// The list of the site's tabs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tabs {
    entries: Vec<TabEntry>,
}

impl Tabs {
    /// The list stored as `text` (`session,id,written_at,h|v` entries separated by `;`;
    /// `written_at` in whole milliseconds: no floating point, which would double the
    /// element's WebAssembly).
    /// Whatever does not read as an entry is dropped: the list is only ever advice.
    pub fn parse(text: &str) -> Self {
        let entries = text
            .split(';')
            .filter_map(|entry| {
                let mut fields = entry.split(',');
                let session = fields.next()?;
                let id = fields.next()?;
                let written_at = fields.next()?.parse::<i64>().ok()?;
                let hidden = match fields.next()? {
                    "h" => true,
                    "v" => false,
                    _ => return None,
                };
                let entry = TabEntry::new(session, id, written_at, hidden);
                (fields.next().is_none() && !entry.id.is_empty()).then_some(entry)
            })
            .take(MAX_ENTRIES)
            .collect();
        Self { entries }
    }

    /// The list as it is stored.
    pub fn to_text(&self) -> String {
        self.entries
            .iter()
            .map(|e| {
                format!(
                    "{},{},{},{}",
                    e.session,
                    e.id,
                    e.written_at,
                    if e.hidden { "h" } else { "v" }
                )
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// The entries.
    pub fn entries(&self) -> &[TabEntry] {
        &self.entries
    }

    /// Writes `entry` (replacing the tab's earlier one) and drops the entries of tabs that are
    /// gone at `now` and those of other sessions, keeping at most [`MAX_ENTRIES`].
    pub fn put(&mut self, entry: TabEntry, now: i64) {
        self.entries
            .retain(|e| e.id != entry.id && e.session == entry.session && e.is_open(now));
        self.entries.push(entry);
        while self.entries.len() > MAX_ENTRIES {
            let oldest = (0..self.entries.len()).min_by_key(|&i| self.entries[i].written_at);
            oldest.map(|i| self.entries.remove(i));
        }
    }

    /// Removes the tab `id`'s entry.
    pub fn remove(&mut self, id: &str) {
        let id = clean_id(id);
        self.entries.retain(|e| e.id != id);
    }

    /// Whether another tab of `session` than `me` is open and visible at `now`.
    pub fn another_visible(&self, session: &str, me: &str, now: i64) -> bool {
        self.others(session, me, now).any(|e| !e.hidden)
    }

    fn others<'a>(
        &'a self,
        session: &str,
        me: &str,
        now: i64,
    ) -> impl Iterator<Item = &'a TabEntry> + 'a {
        let (session, me) = (clean_id(session), clean_id(me));
        self.entries
            .iter()
            .filter(move |e| e.session == session && e.id != me && e.is_open(now))
    }
}

/// What the tab `me` of `session` tells the server as it closes at `now`: `hidden` when
/// another open tab of the session is hidden (it may stay silent for hours, and must not be
/// taken as closed), `closed` otherwise. Visible tabs that stay open answer `closed` within
/// their next beat (the closing tab also tells them at once), well within the grace; and when
/// a window closes with several tabs, each may still see the others in the list, so only
/// `closed` from each of them ends the session as it should.
pub fn closing_signal(tabs: &Tabs, session: &str, me: &str, now: i64) -> TabSignal {
    if tabs.others(session, me, now).any(|e| e.hidden) {
        TabSignal::Hidden
    } else {
        TabSignal::Closed
    }
}

/// What a tab of `session` that is `hidden` says on its regular beat at `now`: `visible` when
/// it is; when hidden, `hidden` unless another tab is visible (whose beats say `visible`:
/// the two would contradict each other every few seconds), and nothing then.
pub fn beat_signal(
    tabs: &Tabs,
    session: &str,
    me: &str,
    hidden: bool,
    now: i64,
) -> Option<TabSignal> {
    if !hidden {
        Some(TabSignal::Visible)
    } else if tabs.another_visible(session, me, now) {
        None
    } else {
        Some(TabSignal::Hidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tabs(entries: &[(&str, &str, i64, bool)]) -> Tabs {
        let mut t = Tabs::default();
        for (session, id, at, hidden) in entries {
            t.put(TabEntry::new(session, id, *at, *hidden), *at);
        }
        t
    }

    #[test]
    fn a_closing_tab_says_hidden_only_for_a_hidden_tab_left_open() {
        // Beside a visible tab, closed: the visible one says visible again at once, and if it
        // is closing too (a window with two tabs), the session ends as it should.
        let t = tabs(&[("s", "a", 0, false), ("s", "b", 0, false)]);
        assert_eq!(closing_signal(&t, "s", "a", 1_000), TabSignal::Closed);
        assert_eq!(closing_signal(&t, "s", "b", 1_000), TabSignal::Closed);
        let t = tabs(&[("s", "a", 0, false), ("s", "b", 0, true)]);
        assert_eq!(closing_signal(&t, "s", "a", 1_000), TabSignal::Hidden);
        let mut t = t;
        t.remove("a");
        assert_eq!(closing_signal(&t, "s", "b", 1_000), TabSignal::Closed);
    }

    #[test]
    fn a_hidden_tab_counts_however_long_it_sleeps() {
        let t = tabs(&[("s", "a", 0, false), ("s", "asleep", 0, true)]);
        assert_eq!(
            closing_signal(&t, "s", "a", 3_600_000),
            TabSignal::Hidden,
            "a hidden tab silent for an hour is still open"
        );
    }

    #[test]
    fn another_sessions_tabs_never_count() {
        let t = tabs(&[("old", "x", 0, true), ("new", "a", 10, false)]);
        assert_eq!(
            t.entries().len(),
            1,
            "the earlier sign-in's entry is dropped"
        );
        assert_eq!(closing_signal(&t, "new", "a", 20), TabSignal::Closed);
    }

    #[test]
    fn a_hidden_tab_beats_only_when_no_tab_is_visible() {
        let t = tabs(&[("s", "a", 0, false), ("s", "b", 0, true)]);
        assert_eq!(
            beat_signal(&t, "s", "a", false, 1),
            Some(TabSignal::Visible)
        );
        assert_eq!(beat_signal(&t, "s", "b", true, 1), None);
        assert_eq!(
            beat_signal(&t, "s", "b", true, 20_000),
            Some(TabSignal::Hidden),
            "the visible one is gone"
        );
    }

    #[test]
    fn the_list_reads_what_it_writes_and_drops_the_rest() {
        let t = tabs(&[("s1", "a", 1, false), ("s1", "b", 2, true)]);
        let text = t.to_text();
        assert_eq!(text, "s1,a,1,v;s1,b,2,h");
        assert_eq!(Tabs::parse(&text), t);
        let odd = Tabs::parse("s1,a,1,v;garbage;s1,b,x,h;s1,,3,v;s1,c,4,v,extra;s<1>,d,5,h");
        assert_eq!(odd.entries().len(), 2);
        assert_eq!(
            odd.entries()[1].session,
            "s1",
            "ids keep only safe characters"
        );
        let long = format!("{},id,1,v", "s".repeat(500));
        assert_eq!(Tabs::parse(&long).entries()[0].session.len(), MAX_ID_CHARS);
    }

    #[test]
    fn the_list_is_bounded() {
        let mut t = Tabs::default();
        for i in 0..(MAX_ENTRIES + 10) {
            t.put(
                TabEntry::new("s", &format!("t{i}"), i as i64, true),
                i as i64,
            );
        }
        assert_eq!(t.entries().len(), MAX_ENTRIES);
        assert!(t
            .entries()
            .iter()
            .any(|e| e.id == format!("t{}", MAX_ENTRIES + 9)));
        let many = vec!["s,a,1,v"; 1_000].join(";");
        assert!(Tabs::parse(&many).entries().len() <= MAX_ENTRIES);
    }
}
