//! Pieces shared by several pages.

pub mod drafts;
pub mod nav;
