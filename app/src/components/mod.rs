//! Pieces shared by several pages.

pub mod countdown;
pub mod drafts;
pub mod nav;
pub mod sign_out;
