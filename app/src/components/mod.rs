//! Pieces shared by several pages.

pub mod drafts;
pub mod link;
pub mod nav;
