//! One module per page.

pub mod account;
pub mod activity;
pub mod admin;
pub mod home;
pub mod landing;
pub mod logout;
pub mod not_found;
pub mod sessions;
pub mod sign_in;
